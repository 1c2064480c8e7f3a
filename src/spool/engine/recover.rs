//! Recovery at start: the spool is made consistent before any worker runs.

use super::*;
use crate::spool::DestinationState;
use crate::spool::store::DestinationUpdate;

impl Inner {
    /// Brings the spool to a consistent state after any stop: removes payloads never
    /// acknowledged, and settles rows whose queue or files are gone.
    pub(in crate::spool) fn recover(&self) -> std::io::Result<()> {
        let ids = self.store.ids().map_err(io_err)?;
        let mut done = Vec::new();
        for id in self.layout.scan_payloads()? {
            if !ids.contains(&id) {
                warn!(job = %id, "payload of a job that was never acknowledged: removed");
                self.layout.remove(&id)?;
            } else if let Ok(Some(row)) = self.store.get(&id)
                && row.state == State::Done
            {
                done.push(id);
            }
        }
        // Recorded done by a retirement that the stop cut short (compose.rs): the
        // end made durable (what the log replayed may be in the page cache only), then
        // retired.
        if !done.is_empty() {
            self.store.sync().map_err(io_err)?;
            for id in done {
                info!(job = %id, "done before the stop: its files go now");
                self.ended(&id, State::Done, None);
            }
        }
        match self.store.ask_commitments_again(now_ms()) {
            Ok(0) => {}
            Ok(n) => info!("{n} Storage Commitment request(s) asked again after the start"),
            Err(e) => return Err(io_err(e)),
        }
        for row in self.store.unfinished().map_err(io_err)? {
            self.recover_destinations(&row);
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
                self.printed(id, &[State::Composed]);
            }
            // The last destination may have been recorded done without the job.
            State::Storing => {
                self.printed(id, &[State::Storing]);
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

    /// Fails the unfinished destinations of a job that its queue no longer stores to
    /// (the configuration changed while it waited): nothing would ever store there.
    fn recover_destinations(&self, row: &JobRow) {
        let configured = self.destinations_of(&row.queue);
        let rows = match self.store.destinations(&row.id) {
            Ok(rows) => rows,
            Err(e) => {
                error!(job = %row.id, "spool database: {e}");
                return;
            }
        };
        for d in rows {
            if d.is_done()
                || d.state == DestinationState::Failed
                || configured.contains(&d.destination)
            {
                continue;
            }
            let error = format!("queue {} no longer stores to it", row.queue);
            warn!(job = %row.id, destination = %d.destination, "{error}");
            let update = DestinationUpdate::Failed { error: &error };
            if let Err(e) =
                self.store
                    .record_destination(&row.id, &d.destination, &d.seen(), update, now_ms())
            {
                error!(job = %row.id, "spool database: {e}");
            }
        }
    }

    fn sweep(&self) {
        let cutoff = now_ms().saturating_sub(ms(self.config.retention));
        match self
            .store
            .sweep(cutoff, |row| self.layout.remove_all(&row.id, row.films))
        {
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
