//! One delivery task per printer queue: submissions in Print Priority order, polling,
//! retries, and adoption of jobs a crash left in doubt.

use super::*;

impl Inner {
    /// Runs `f` on a blocking thread (database commits fsync); None if it could not run.
    pub(super) async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Inner) -> T + Send + 'static,
    ) -> Option<T> {
        let inner = self.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await.ok()
    }

    pub(super) async fn deliver_loop(
        self: Arc<Self>,
        queue: String,
        outputs: Arc<dyn QueueOutputs>,
        wake: Arc<Notify>,
    ) {
        let mut d = Delivery {
            queue,
            outputs,
            polls: HashMap::new(),
            printer_errors: 0,
        };
        while !self.stopping() {
            let next = self.deliver_round(&mut d).await;
            let wait =
                Duration::from_millis(next.saturating_sub(now_ms()).clamp(20, 30_000) as u64);
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Polls and settles the queue's jobs at the printer, then starts submissions while
    /// there is room, in priority order. Returns when it wants to run again (unix ms).
    async fn deliver_round(self: &Arc<Self>, d: &mut Delivery) -> i64 {
        if self.take_printer_back(&d.queue) {
            d.polls.clear();
            d.printer_errors = 0;
        }
        let now = now_ms();
        let mut next = now + 30_000;
        let Some(active) = self.active(&d.queue).await else {
            return now + 1000;
        };
        d.polls.retain(|id, _| active.iter().any(|r| &r.id == id));
        for row in active {
            match row.state {
                State::Submitting if row.next_attempt_ms <= now => {
                    self.push(d, row, true).await;
                }
                State::Submitting => {}
                _ => {
                    let due = d.polls.get(&row.id).copied().unwrap_or(now);
                    if due <= now {
                        self.poll(d, row).await;
                    }
                }
            }
        }
        let Some(active) = self.active(&d.queue).await else {
            return now + 1000;
        };
        let room = self
            .config
            .printer_in_flight
            .max(1)
            .saturating_sub(active.len());
        if room > 0 {
            let q = d.queue.clone();
            let ready = self
                .blocking(move |i| {
                    i.store
                        .next_ready(&[State::Composed], Some(&q), now_ms(), room)
                })
                .await;
            for mut row in ready.and_then(Result::ok).unwrap_or_default() {
                let id = row.id.clone();
                let begun = self
                    .blocking(move |i| i.store.begin_submit(&id, now_ms()))
                    .await;
                if let Some(Ok(Some(attempts))) = begun {
                    row.attempts = attempts;
                    row.state = State::Submitting;
                    self.push(d, row, false).await;
                }
            }
        }
        // Retries waiting for their time; composed jobs only if one could start.
        let states: &'static [State] = if room > 0 {
            &[State::Submitting, State::Composed]
        } else {
            &[State::Submitting]
        };
        let q = d.queue.clone();
        let due = self
            .blocking(move |i| i.store.next_due(states, Some(&q)))
            .await;
        if let Some(Ok(Some(t))) = due {
            next = next.min(t.max(now_ms() + 20));
        }
        d.polls.values().fold(next, |n, &t| n.min(t))
    }

    /// The queue's jobs at (or perhaps at) the printer.
    async fn active(self: &Arc<Self>, queue: &str) -> Option<Vec<JobRow>> {
        let q = queue.to_string();
        let rows = self
            .blocking(move |i| {
                i.store.next_ready(
                    &[State::Submitting, State::Submitted],
                    Some(&q),
                    i64::MAX,
                    usize::MAX,
                )
            })
            .await?;
        rows.map_err(|e| error!("spool database: {e}")).ok()
    }

    /// Sends a `submitting` job to the printer. `in_doubt`: an earlier submission may have
    /// reached it, so look it up first and adopt it if it is there.
    async fn push(self: &Arc<Self>, d: &mut Delivery, mut row: JobRow, in_doubt: bool) {
        let id = row.id.clone();
        let name = job_name(&id);
        if in_doubt {
            match d.outputs.find(&name).await {
                Ok(Some((remote, state))) => {
                    d.printer_errors = 0;
                    info!(job = %id, remote = %remote, "already at the printer: adopted, not sent again");
                    let (i, r) = (id.clone(), remote.clone());
                    let adopted = self
                        .blocking(move |s| s.store.set_submitted(&i, &r, now_ms()))
                        .await;
                    if let Some(Ok(true)) = adopted {
                        self.notify(&id, Progress::Printing);
                        self.settle(d, &id, state).await;
                    }
                    return;
                }
                Ok(None) => d.printer_errors = 0,
                Err(e) => {
                    self.submit_failed(row, e).await;
                    return;
                }
            }
            let i = id.clone();
            match self
                .blocking(move |s| s.store.begin_attempt(&i, State::Submitting, now_ms()))
                .await
            {
                Some(Ok(Some(n))) => row.attempts = n,
                _ => return,
            }
        }
        let (Some(path), Some(format)) = (row.document.clone(), row.document_format.clone()) else {
            let i = id.clone();
            self.blocking(move |s| {
                s.fail(&i, &[State::Submitting], "composed job without a document")
            })
            .await;
            return;
        };
        if !Path::new(&path).exists() {
            warn!(job = %id, "composed document {path} is missing: composing again");
            let i = id.clone();
            self.blocking(move |s| {
                let _ = s.store.transition(
                    &i,
                    &[State::Submitting],
                    State::Received,
                    Some("composed document missing: composing again"),
                    now_ms(),
                );
                s.wake_compose();
            })
            .await;
            return;
        }
        let submission = Submission {
            job_id: id.clone(),
            job_name: name,
            copies: row.copies,
            priority: row.priority,
            requesting_user: row.calling_ae.clone(),
            label: row.label.clone(),
            document: Document {
                path: path.into(),
                format,
            },
        };
        match d.outputs.submit(submission).await {
            Ok(remote) => {
                d.printer_errors = 0;
                let (i, r) = (id.clone(), remote.clone());
                // FULL, not relaxed: lost, the row would be `submitting` again after a
                // power loss and the job looked up at the printer by name, which fails
                // on a printer that purges finished jobs (it would print twice). A
                // printer's pace is paper's, not fsync's.
                let recorded = self
                    .blocking(move |s| s.store.set_submitted(&i, &r, now_ms()))
                    .await;
                if let Some(Ok(true)) = recorded {
                    info!(job = %id, remote = %remote, "submitted to the printer");
                    self.notify(&id, Progress::Printing);
                    d.polls.insert(id, now_ms() + ms(self.config.poll_interval));
                } else if !matches!(recorded, Some(Ok(false))) {
                    // The printer has the job but the database did not take its id: leave
                    // the row `submitting`, so the next round finds the job by name and
                    // adopts it with its real state (never cancel a good print here).
                    error!(job = %id, remote = %remote, "printer job id not recorded; it will be looked up by name");
                } else {
                    // Cancelled while it was being sent: take it back from the printer.
                    info!(job = %id, remote = %remote, "cancelled during submission: cancelling at the printer");
                    if let Err(e) = d.outputs.cancel(&remote).await {
                        warn!(job = %id, "printer did not cancel job {remote}: {e}");
                    }
                    let (i, r) = (id.clone(), remote.clone());
                    self.blocking(move |s| s.store.set_remote_id(&i, &r, now_ms()))
                        .await;
                }
            }
            Err(e) => self.submit_failed(row, e).await,
        }
    }

    async fn submit_failed(self: &Arc<Self>, row: JobRow, e: DeliveryError) {
        let retry = &self.config.retry;
        let id = row.id;
        let reason = match e {
            DeliveryError::Permanent(m) => format!("printer refused the job: {m}"),
            DeliveryError::Retryable(m)
                if retry
                    .max_submit_attempts
                    .is_some_and(|max| row.attempts >= max) =>
            {
                format!(
                    "printer did not take the job in {} attempts: {m}",
                    row.attempts
                )
            }
            DeliveryError::Retryable(m) => {
                let wait = retry.backoff(row.attempts);
                warn!(job = %id, "printer: {m}; retry in {wait:?}");
                let next = now_ms() + ms(wait);
                self.blocking(move |s| s.store.record_failure(&id, &m, next, now_ms()))
                    .await;
                return;
            }
        };
        self.blocking(move |s| s.fail(&id, &[State::Submitting], &reason))
            .await;
    }

    async fn poll(self: &Arc<Self>, d: &mut Delivery, row: JobRow) {
        let id = row.id;
        let Some(remote) = row.remote_id else {
            self.blocking(move |s| {
                s.fail(
                    &id,
                    &[State::Submitted],
                    "submitted job without a printer job ID",
                )
            })
            .await;
            return;
        };
        match d.outputs.poll(&remote, &job_name(&id)).await {
            Ok(RemoteState::Gone) => self.lost_track(d, &id, &remote).await,
            Ok(state) => {
                d.printer_errors = 0;
                self.settle(d, &id, state).await;
            }
            Err(DeliveryError::Retryable(m)) => self.ask_again_later(d, &id, m).await,
            Err(DeliveryError::Permanent(m)) => {
                let reason = format!("printer job {remote}: {m}");
                self.blocking(move |s| s.fail(&id, &[State::Submitted], &reason))
                    .await;
            }
        }
    }

    /// The printer no longer has job `remote` under our name: its job history was purged
    /// (filmd was down longer than the printer keeps finished jobs) or it restarted and
    /// numbers jobs afresh. The job may live on under another ID, so look it up by name.
    /// If the printer has no such job, nobody can say whether the film came out: a
    /// restarted printer may have dropped it unprinted, a purged history hides a good
    /// print. Sending it again risks a second film; calling it done risks a lost one. The
    /// job fails with that reason instead, and, unlike a done job, keeps its files for
    /// the retention so that it can be printed again by hand.
    async fn lost_track(self: &Arc<Self>, d: &mut Delivery, id: &str, remote: &str) {
        match d.outputs.find(&job_name(id)).await {
            Ok(Some((found, state))) => {
                d.printer_errors = 0;
                if found != remote {
                    info!(job = %id, remote = %found, "printer job {remote} is gone; the job is at the printer as {found}");
                    let (i, r) = (id.to_string(), found.clone());
                    self.blocking(move |s| s.store.set_remote_id(&i, &r, now_ms()))
                        .await;
                }
                self.settle(d, id, state).await;
            }
            Ok(None) => {
                d.printer_errors = 0;
                let reason = gone_reason(remote);
                let i = id.to_string();
                self.blocking(move |s| s.fail(&i, &[State::Submitted], &reason))
                    .await;
            }
            Err(DeliveryError::Permanent(m)) => {
                let reason = format!("{}; looking it up by name failed: {m}", gone_reason(remote));
                let i = id.to_string();
                self.blocking(move |s| s.fail(&i, &[State::Submitted], &reason))
                    .await;
            }
            Err(DeliveryError::Retryable(m)) => {
                let m = format!("printer job {remote} gone, lookup by name: {m}");
                self.ask_again_later(d, id, m).await;
            }
        }
    }

    /// The printer could not answer about a submitted job: ask again after the poll
    /// backoff, and record why for the admin view.
    async fn ask_again_later(self: &Arc<Self>, d: &mut Delivery, id: &str, m: String) {
        d.printer_errors += 1;
        let wait = self
            .config
            .retry
            .backoff(d.printer_errors)
            .max(self.config.poll_interval);
        warn!(job = %id, "printer: {m}; asking again in {wait:?}");
        let next = now_ms() + ms(wait);
        d.polls.insert(id.to_string(), next);
        let i = id.to_string();
        self.blocking(move |s| s.store.record_failure(&i, &m, next, now_ms()))
            .await;
    }

    /// Acts on what the printer says of a submitted job.
    async fn settle(self: &Arc<Self>, d: &mut Delivery, id: &str, state: RemoteState) {
        let (to, error) = match state {
            RemoteState::Pending | RemoteState::Processing => {
                d.polls
                    .insert(id.to_string(), now_ms() + ms(self.config.poll_interval));
                return;
            }
            RemoteState::Done => {
                let i = id.to_string();
                self.blocking(move |s| s.printed(&i, &[State::Submitted]))
                    .await;
                return;
            }
            RemoteState::Failed(reason) => (State::Failed, Some(format!("printer: {reason}"))),
            RemoteState::Canceled => (
                State::Cancelled,
                Some("cancelled at the printer".to_string()),
            ),
            // Never from find; from poll it goes to lost_track, which looks the job up.
            RemoteState::Gone => (State::Failed, Some(gone_reason("?"))),
        };
        let i = id.to_string();
        self.blocking(move |s| s.finish(&i, &[State::Submitted], to, error.as_deref()))
            .await;
    }
}

/// Why a job the printer forgot fails.
fn gone_reason(remote: &str) -> String {
    format!(
        "printer no longer lists job {remote} (history purged or printer restarted): \
         whether it printed is not known"
    )
}

/// What one queue's delivery task keeps between rounds.
struct Delivery {
    queue: String,
    outputs: Arc<dyn QueueOutputs>,
    /// When each submitted job is next asked about (not worth a commit each time).
    polls: HashMap<String, i64>,
    /// Consecutive printer errors, for the poll backoff.
    printer_errors: u32,
}
