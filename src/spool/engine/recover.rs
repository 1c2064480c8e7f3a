//! Recovery at start: the spool is made consistent before any worker runs.

use super::*;

impl Inner {
    /// Brings the spool to a consistent state after any stop: imports job files of the
    /// file-only spool, removes payloads never acknowledged, and settles rows whose queue or
    /// files are gone.
    pub(in crate::spool) fn recover(&self) -> std::io::Result<()> {
        self.import_legacy()?;
        let ids = self.store.ids().map_err(io_err)?;
        for id in self.layout.scan_payloads()? {
            if !ids.contains(&id) {
                warn!(job = %id, "payload of a job that was never acknowledged: removed");
                self.layout.remove(&id)?;
            }
        }
        for row in self.store.unfinished().map_err(io_err)? {
            self.recover_row(&row);
        }
        self.sweep();
        Ok(())
    }

    fn recover_row(&self, row: &JobRow) {
        let id = row.id.as_str();
        let Some(outputs) = self.outputs.get(&row.queue) else {
            self.fail(
                id,
                &State::UNFINISHED,
                &format!("queue {} is no longer configured", row.queue),
            );
            return;
        };
        let payload = self.layout.payload(id);
        let has_payload = payload.exists();
        let missing = format!("payload file {} is missing", payload.display());
        match row.state {
            State::Received if !has_payload => {
                self.fail(id, &[State::Received], &missing);
            }
            State::Composed if !outputs.has_printer() => {
                self.finish(id, &[State::Composed], State::Done, None);
            }
            State::Composed
                if !row
                    .document
                    .as_deref()
                    .is_some_and(|d| Path::new(d).exists()) =>
            {
                if has_payload {
                    let _ = self.store.transition(
                        id,
                        &[State::Composed],
                        State::Received,
                        Some("composed document missing: composing again"),
                        now_ms(),
                    );
                } else {
                    self.fail(id, &[State::Composed], &missing);
                }
            }
            State::Submitting | State::Submitted if !outputs.has_printer() => {
                self.fail(
                    id,
                    &[row.state],
                    &format!(
                        "queue {} no longer has a printer; the job may be at the old one",
                        row.queue
                    ),
                );
            }
            _ => info!(job = %id, state = row.state.as_str(), "resuming"),
        }
    }

    /// Job files of the file-only spool (`spool/<id>.job`) were acknowledged jobs: their
    /// row is committed first, then the file moves to `jobs/`, so a crash in between
    /// repeats the import rather than losing the job.
    fn import_legacy(&self) -> std::io::Result<()> {
        let root = &self.layout.root;
        let mut moved = false;
        for entry in fs::read_dir(root)? {
            let path = entry?.path();
            if !path.is_file() {
                continue;
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = fs::remove_file(&path);
                continue;
            }
            if !name.ends_with(".job") {
                continue;
            }
            let read = fs::read(&path).map_err(|e| e.to_string());
            match read.and_then(|b| payload::decode_job(&b).map(|j| (j, b.len()))) {
                Ok((job, len)) => {
                    if self.store.get(&job.id).map_err(io_err)?.is_none() {
                        self.store
                            .insert(&new_job(&job, len), now_ms(), None)
                            .map_err(io_err)?;
                    }
                    fs::rename(&path, self.layout.payload(&job.id))?;
                    moved = true;
                    info!(job = %job.id, "imported from the file-only spool");
                }
                Err(e) => {
                    error!(path = %path.display(), "unreadable job file moved to failed/: {e}");
                    fs::create_dir_all(root.join("failed"))?;
                    fs::rename(&path, root.join("failed").join(&name))?;
                }
            }
        }
        if moved {
            payload::sync_dir(&self.layout.jobs_dir())?;
            payload::sync_dir(root)?;
        }
        Ok(())
    }

    fn sweep(&self) {
        let cutoff = now_ms().saturating_sub(ms(self.config.retention));
        match self.store.sweep(cutoff, |row| self.layout.remove(&row.id)) {
            Ok(0) => {}
            Ok(n) => info!("removed {n} finished job(s) past their retention"),
            Err(e) => warn!("retention sweep: {e}"),
        }
    }

    pub(super) async fn sweep_loop(self: Arc<Self>) {
        let interval =
            (self.config.retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
        loop {
            tokio::time::sleep(interval).await;
            self.blocking(|i| i.sweep()).await;
        }
    }
}
