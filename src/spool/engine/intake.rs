//! Intake: a print N-ACTION's job made durable before it is answered, in groups.
//!
//! Each caller (an N-ACTION on its blocking thread) writes and fsyncs its own payload
//! and renames it into `jobs/` (the data fsyncs of many callers run side by side), then
//! joins a group commit (group.rs): the group's leader fsyncs `jobs/` once for every
//! rename of the group, then commits every row in one FULL transaction. Each caller
//! returns when its group has committed, so "success means on disk" holds for each job
//! as before; a lone N-ACTION leads its own group at once and waits no longer than it
//! did when every job had its own fsyncs. A group that fails (directory fsync, database)
//! fails every member with the error its N-ACTION would have got alone.

use super::*;

/// A job waiting in a group: its row, and its queue's limit.
pub(in crate::spool) struct Arriving {
    row: NewJob,
    limit: usize,
}

impl Inner {
    pub(in crate::spool) fn submit(
        &self,
        mut job: PrintJob,
        observer: Observer,
    ) -> Result<String, SpoolError> {
        if !self.outputs.contains_key(&job.queue) {
            return Err(SpoolError::UnknownQueue(job.queue));
        }
        self.check_refusal(&job.queue)?;
        let limit = self
            .config
            .queue_limits
            .get(&job.queue)
            .copied()
            .unwrap_or(self.config.max_jobs_per_queue);
        if self.store.limited_in_queue(&job.queue)? >= limit {
            return Err(SpoolError::Full(Full::Queue {
                queue: job.queue,
                limit,
            }));
        }
        job.id = self.new_id();
        let bytes = payload::encode_job(&job).map_err(SpoolError::Encode)?;
        let free = payload::free_bytes(&self.layout.root)?;
        let reserve = self.config.min_free_mib.saturating_mul(MIB);
        if free < reserve.saturating_add(bytes.len() as u64) {
            return Err(self.disk_full());
        }
        let id = job.id.clone();
        // Claimed until PENDING is reported, so that PRINTING cannot come first.
        lock(&self.claimed).insert(id.clone());
        let committed = self.commit(&job, &bytes, limit);
        if committed.is_ok() {
            lock(&self.observers).insert(
                id.clone(),
                Watch {
                    observer,
                    last: None,
                },
            );
            self.notify(&id, Progress::Pending);
        }
        lock(&self.claimed).remove(&id);
        committed?;
        self.wake_compose();
        Ok(id)
    }

    /// Payload durable first, then the row: either both exist or the job was not
    /// accepted. Returns once the job's group has committed (or failed).
    pub(in crate::spool) fn commit(
        &self,
        job: &PrintJob,
        bytes: &[u8],
        limit: usize,
    ) -> Result<(), SpoolError> {
        let path = self.layout.payload(&job.id);
        if let Err(e) = payload::write_synced(&path, bytes) {
            let _ = fs::remove_file(&path);
            return Err(self.io_error(e));
        }
        let arriving = Arriving {
            row: new_job(job, bytes.len(), self.destinations_of(&job.queue)),
            limit,
        };
        let outcome = self.intake.commit(
            arriving,
            |group| self.commit_group(group),
            || {
                Err(SpoolError::Io(std::io::Error::other(
                    "the group commit holding this job failed (its leader panicked)",
                )))
            },
        );
        if outcome.is_err() {
            // Not fsynced: a payload without a row is removed at the next start anyway.
            let _ = fs::remove_file(&path);
        }
        outcome
    }

    /// One group: one fsync of `jobs/` for every payload renamed into it, then one
    /// transaction for every row.
    fn commit_group(&self, group: Vec<Arriving>) -> Vec<Result<(), SpoolError>> {
        if let Err(e) = payload::sync_dir(&self.layout.jobs_dir()) {
            return group
                .iter()
                .map(|_| Err(self.io_error(std::io::Error::new(e.kind(), e.to_string()))))
                .collect();
        }
        let rows: Vec<(&NewJob, Option<usize>)> =
            group.iter().map(|a| (&a.row, Some(a.limit))).collect();
        match self.store.insert_group(&rows, now_ms()) {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|o| o.map(drop).map_err(|e| self.store_error(e)))
                .collect(),
            Err(e) => {
                error!("{} job(s) not accepted: {e}", group.len());
                group
                    .iter()
                    .map(|_| Err(self.store_error(e.for_each_member())))
                    .collect()
            }
        }
    }

    /// The N-ACTION's error for a payload that could not be written.
    fn io_error(&self, e: std::io::Error) -> SpoolError {
        if payload::is_disk_full(&e) {
            self.disk_full()
        } else {
            e.into()
        }
    }

    /// The N-ACTION's error for a row that was not committed.
    fn store_error(&self, e: StoreError) -> SpoolError {
        match e {
            StoreError::QueueFull { queue, limit } => {
                SpoolError::Full(Full::Queue { queue, limit })
            }
            e if e.is_disk_full() => self.disk_full(),
            e => e.into(),
        }
    }
}
