//! PACS destinations in the engine, with a PACS in memory: stores, commitment, retries,
//! identity holds and assignment, the `storing` state, crashes.

use super::*;
use std::collections::{HashSet, VecDeque};
use std::sync::Weak;

/// A C-STORE / Storage Commitment SCP in memory, behind a queue's outputs (with the
/// printer of [`Fake`] when it has one).
#[derive(Default)]
struct Pacs {
    printer: Arc<Fake>,
    destinations: Vec<String>,
    /// Ask for commitment after storing (the reports come by [`Spool::commitment_report`]).
    commit: bool,
    /// Answers of `identify`, in order; then `Found` with PatientID P1.
    identities: Mutex<VecDeque<Result<Identification, DeliveryError>>>,
    /// Answers of `store`, in order, before the default one.
    answers: Mutex<VecDeque<Result<StoreOutcome, DeliveryError>>>,
    /// While set, `store` stores the instances but never returns (filmd dies first).
    hang: AtomicBool,
    /// While set, `store` waits once it has noted its request (a store under way).
    gate: AtomicBool,
    /// Stores that returned.
    returned: AtomicU32,
    /// Reports commitment itself before `store` returns (a PACS quicker on a new
    /// association than the store's own answer).
    early: Mutex<Option<Weak<Spool>>>,
    /// Every request: (destination, state, attempt, identity).
    requests: Mutex<Vec<(String, DestinationState, u32, Identity)>>,
    /// Instances the PACS holds, per destination: a set, as a PACS keeps one copy of a
    /// SOP Instance UID.
    instances: Mutex<HashSet<(String, String)>>,
    identified: AtomicU32,
}

impl Pacs {
    fn archive(destinations: &[&str], commit: bool) -> Pacs {
        Pacs {
            destinations: destinations.iter().map(|d| d.to_string()).collect(),
            commit,
            ..Pacs::default()
        }
    }

    fn requests(&self) -> Vec<(String, DestinationState, u32, Identity)> {
        lock(&self.requests).clone()
    }

    fn answer(&self, a: Result<StoreOutcome, DeliveryError>) {
        lock(&self.answers).push_back(a);
    }

    fn transactions(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|(d, _, n, _)| tx(d, *n))
            .collect()
    }
}

/// The Transaction UID the fake PACS output uses for attempt `n` at `dest`.
fn tx(dest: &str, n: u32) -> String {
    format!("tx-{dest}-{n}")
}

fn identity(pairs: &[(&str, &str)]) -> Identity {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl QueueOutputs for Pacs {
    fn compose(&self, job: &PrintJob, out_dir: &Path) -> Result<Composed, DeliveryError> {
        self.printer.compose(job, out_dir)
    }

    fn has_printer(&self) -> bool {
        self.printer.has_printer()
    }

    fn submit(&self, s: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
        self.printer.submit(s)
    }

    fn poll<'a>(
        &'a self,
        remote_id: &'a str,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
        self.printer.poll(remote_id, job_name)
    }

    fn find<'a>(
        &'a self,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, RemoteState)>, DeliveryError>> {
        self.printer.find(job_name)
    }

    fn destinations(&self) -> Vec<String> {
        self.destinations.clone()
    }

    fn identify<'a>(
        &'a self,
        _job: &'a PrintJob,
    ) -> BoxFuture<'a, Result<Identification, DeliveryError>> {
        Box::pin(async move {
            self.identified.fetch_add(1, Ordering::SeqCst);
            lock(&self.identities)
                .pop_front()
                .unwrap_or_else(|| Ok(Identification::Found(identity(&[("PatientID", "P1")]))))
        })
    }

    fn store(&self, r: StoreRequest) -> BoxFuture<'_, Result<StoreOutcome, DeliveryError>> {
        Box::pin(async move {
            lock(&self.requests).push((
                r.destination.clone(),
                r.state,
                r.attempt,
                r.identity.clone(),
            ));
            while self.gate.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let answer = self.answer_store(r).await;
            self.returned.fetch_add(1, Ordering::SeqCst);
            answer
        })
    }
}

impl Pacs {
    async fn answer_store(&self, r: StoreRequest) -> Result<StoreOutcome, DeliveryError> {
        let scripted = lock(&self.answers).pop_front();
        if let Some(answer) = scripted {
            return answer;
        }
        if r.state == DestinationState::Pending {
            lock(&self.instances).insert((r.destination.clone(), r.job.uid.clone()));
        }
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if !self.commit {
            return Ok(StoreOutcome::Stored);
        }
        let transaction_uid = tx(&r.destination, r.attempt);
        let early = lock(&self.early).clone();
        if let Some(spool) = early.and_then(|w| w.upgrade()) {
            let known = spool
                .commitment_report(&CommitmentResult {
                    transaction_uid: transaction_uid.clone(),
                    committed: vec![r.job.uid.clone()],
                    failed: vec![],
                })
                .unwrap();
            assert!(known, "kept while its store is under way");
        }
        Ok(StoreOutcome::CommitRequested { transaction_uid })
    }
}

impl Harness {
    fn open_pacs(&self, pacs: &Arc<Pacs>, config: SpoolConfig) -> Arc<Spool> {
        let _guard = self.rt.enter();
        let outputs: HashMap<String, Arc<dyn QueueOutputs>> =
            [("q".to_string(), pacs.clone() as Arc<dyn QueueOutputs>)].into();
        Spool::open(&DataDir::new(self.dir.path()), config, outputs).unwrap()
    }
}

fn report(uid: &str, failed: &[(&str, u16)]) -> CommitmentResult {
    CommitmentResult {
        transaction_uid: uid.into(),
        committed: vec![],
        failed: failed.iter().map(|(u, r)| (u.to_string(), *r)).collect(),
    }
}

fn destination(spool: &Spool, id: &str, dest: &str) -> DestinationRow {
    spool
        .destinations(id)
        .unwrap()
        .into_iter()
        .find(|d| d.destination == dest)
        .unwrap()
}

fn wait_destination(
    spool: &Spool,
    id: &str,
    dest: &str,
    state: DestinationState,
) -> DestinationRow {
    let mut last = None;
    let start = Instant::now();
    loop {
        let d = destination(spool, id, dest);
        if d.state == state {
            return d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{dest} of {id} never reached {state:?}: {last:?}"
        );
        last = Some(d);
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn events(spool: &Spool, id: &str) -> Vec<String> {
    spool
        .history(id)
        .unwrap()
        .into_iter()
        .map(|e| match e.detail {
            Some(d) => format!("{} ({d})", e.event),
            None => e.event,
        })
        .collect()
}

/// A job's history without its `storing` step, which on a queue without a printer comes
/// right after `composed`, while the store task may have begun: asserted once on its own.
fn events_but_storing(spool: &Spool, id: &str) -> Vec<String> {
    let mut all = events(spool, id);
    let storing = all.iter().filter(|e| *e == "storing").count();
    assert_eq!(storing, 1, "storing once: {all:?}");
    all.retain(|e| e != "storing");
    all
}

/// A PACS-only queue: the job is stored, waits in `storing` (PRINTING) for the
/// commitment report, and is done (files removed, DONE) only when it comes. Each step
/// is in the job's history. A report for no transaction of filmd's is told so.
#[test]
fn a_job_is_stored_then_committed_and_only_then_done() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(&pacs, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 1));
    let d = wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    assert_eq!(d.transaction_uid.as_deref(), Some("tx-PACS@a:104-1"));
    assert_eq!(d.attempts, 1);
    assert!(!d.is_done());
    let row = wait_state(&spool, &id, State::Storing);
    assert_eq!(row.identity, Some(identity(&[("PatientID", "P1")])));
    assert_eq!(h.payloads(), 1, "kept until every destination is done");
    assert_eq!(*lock(&seen), [Progress::Pending, Progress::Printing]);

    assert!(!spool.commitment_report(&report("2.25.999", &[])).unwrap());
    assert!(
        spool
            .commitment_report(&report("tx-PACS@a:104-1", &[]))
            .unwrap()
    );
    wait_state(&spool, &id, State::Done);
    let d = destination(&spool, &id, "PACS@a:104");
    assert_eq!(
        (d.state, d.transaction_uid.as_deref()),
        (DestinationState::Committed, None)
    );
    assert!(d.is_done());
    assert_eq!(h.payloads(), 0);
    wait_until("DONE reported", || {
        lock(&seen).last() == Some(&Progress::Done)
    });
    assert_eq!(
        events_but_storing(&spool, &id),
        [
            "received",
            "composed",
            "identified (PatientID=P1)",
            "stored (PACS@a:104)",
            "committed (PACS@a:104)",
            "done"
        ]
    );
    assert!(
        !spool
            .commitment_report(&report("tx-PACS@a:104-1", &[]))
            .unwrap(),
        "a second report for a transaction already settled"
    );
    let requests = pacs.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].1, DestinationState::Pending);
    assert_eq!(pacs.identified.load(Ordering::SeqCst), 1);
}

/// Without commitment, stored is done; every destination of the queue gets the job.
#[test]
fn without_commitment_a_job_is_done_once_stored_at_every_destination() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["A@a:1", "B@b:2"], false));
    let spool = h.open_pacs(&pacs, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Done);
    let states: Vec<(String, DestinationState)> = spool
        .destinations(&id)
        .unwrap()
        .into_iter()
        .map(|d| (d.destination, d.state))
        .collect();
    assert_eq!(
        states,
        [
            ("A@a:1".to_string(), DestinationState::Stored),
            ("B@b:2".to_string(), DestinationState::Stored)
        ]
    );
    assert_eq!(lock(&pacs.instances).len(), 2);
    assert!(matches!(
        spool.destinations("nope"),
        Err(SpoolError::UnknownJob(_))
    ));
}

/// A PACS down or busy only delays: each failure waits out the backoff, counts an
/// attempt and names its error; the job is done once stored.
#[test]
fn a_pacs_down_is_tried_again_after_the_backoff() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], false));
    pacs.answer(Err(DeliveryError::Retryable("connection refused".into())));
    pacs.answer(Err(DeliveryError::Retryable(
        "A700 out of resources".into(),
    )));
    let mut config = fast();
    config.retry.initial_backoff = Duration::from_millis(100);
    config.retry.max_backoff = Duration::from_millis(400);
    let spool = h.open_pacs(&pacs, config);
    let started = Instant::now();
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Done);
    // 100 ms after the first failure, 200 ms after the second.
    assert!(started.elapsed() >= Duration::from_millis(300));
    let d = destination(&spool, &id, "PACS@a:104");
    assert_eq!(d.attempts, 3);
    assert_eq!(d.last_error.as_deref(), Some("A700 out of resources"));
    let attempts: Vec<u32> = pacs.requests().iter().map(|r| r.2).collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(
        events_but_storing(&spool, &id)[3..],
        [
            "retry (PACS@a:104: connection refused)",
            "retry (PACS@a:104: A700 out of resources)",
            "stored (PACS@a:104)",
            "done"
        ]
    );
}

/// A PACS that will never take the job (SOP class refused) fails the destination and,
/// on a queue without a printer, the job at once, with the destination in the reason.
#[test]
fn a_permanent_refusal_fails_the_job_with_the_destination_named() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    pacs.answer(Err(DeliveryError::Permanent(
        "0122 SOP class not supported".into(),
    )));
    let spool = h.open_pacs(&pacs, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 1));
    let row = wait_state(&spool, &id, State::Failed);
    let reason = "PACS PACS@a:104: 0122 SOP class not supported";
    assert_eq!(row.last_error.as_deref(), Some(reason));
    assert_eq!(
        destination(&spool, &id, "PACS@a:104").state,
        DestinationState::Failed
    );
    assert_eq!(h.payloads(), 1, "a failed job's files stay");
    wait_until("FAILURE reported", || {
        lock(&seen).last() == Some(&Progress::Failed(reason.into()))
    });
    assert_eq!(pacs.requests().len(), 1, "not tried again");
    assert!(
        events(&spool, &id)
            .contains(&"failed (PACS@a:104: 0122 SOP class not supported)".to_string())
    );
}

/// With a printer, the job is done only when both the printer and every destination
/// are: printed first, it waits in `storing`; committed first, it waits for the printer.
/// A destination that fails while the film prints fails the job when the print is over.
#[test]
fn a_printed_job_is_done_only_when_its_destinations_are_too() {
    let h = Harness::new();
    let printer = Arc::new(Fake::printer());
    printer.hold.store(true, Ordering::SeqCst);
    let pacs = Arc::new(Pacs {
        printer: printer.clone(),
        ..Pacs::archive(&["PACS@a:104"], true)
    });
    let spool = h.open_pacs(&pacs, fast());

    // Printed first: storing until the report.
    let (first, seen) = submit(&spool, h.job("first", "MED", 1));
    wait_destination(&spool, &first, "PACS@a:104", DestinationState::Stored);
    wait_state(&spool, &first, State::Submitted);
    printer.hold.store(false, Ordering::SeqCst);
    wait_state(&spool, &first, State::Storing);
    assert!(
        spool
            .commitment_report(&report("tx-PACS@a:104-1", &[]))
            .unwrap()
    );
    wait_state(&spool, &first, State::Done);
    wait_until("DONE reported", || {
        lock(&seen).last() == Some(&Progress::Done)
    });
    assert_eq!(
        *lock(&seen),
        [Progress::Pending, Progress::Printing, Progress::Done]
    );

    // Committed first: the job waits for its printer, then is done without storing.
    printer.hold.store(true, Ordering::SeqCst);
    let (second, _) = submit(&spool, h.job("second", "MED", 1));
    wait_destination(&spool, &second, "PACS@a:104", DestinationState::Stored);
    assert!(
        spool
            .commitment_report(&report("tx-PACS@a:104-1", &[]))
            .unwrap()
    );
    wait_destination(&spool, &second, "PACS@a:104", DestinationState::Committed);
    wait_state(&spool, &second, State::Submitted);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(spool.job(&second).unwrap().unwrap().state, State::Submitted);
    printer.hold.store(false, Ordering::SeqCst);
    wait_state(&spool, &second, State::Done);
    assert!(!events(&spool, &second).contains(&"storing".to_string()));

    // A destination fails while printing: the job fails once the print is over.
    printer.hold.store(true, Ordering::SeqCst);
    pacs.answer(Err(DeliveryError::Permanent("refused".into())));
    let (third, _) = submit(&spool, h.job("third", "MED", 1));
    wait_destination(&spool, &third, "PACS@a:104", DestinationState::Failed);
    wait_state(&spool, &third, State::Submitted);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(spool.job(&third).unwrap().unwrap().state, State::Submitted);
    printer.hold.store(false, Ordering::SeqCst);
    let row = wait_state(&spool, &third, State::Failed);
    assert_eq!(row.last_error.as_deref(), Some("PACS PACS@a:104: refused"));
}

/// Nothing matched: the job is held with what was tried, nothing is stored; the
/// operator's identity is merged into the job's, releases it, and is what the PACS
/// gets. An identity is refused for a finished job, one already stored, or an unknown one.
#[test]
fn an_unmatched_job_is_held_until_an_operator_assigns_its_identity() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], false));
    lock(&pacs.identities).push_back(Ok(Identification::Hold(
        "no pattern matched the film's texts".into(),
    )));
    let spool = h.open_pacs(&pacs, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 1));
    wait_until("held", || spool.job(&id).unwrap().unwrap().held);
    let row = wait_state(&spool, &id, State::Storing);
    assert_eq!(
        (row.identity, row.last_error.as_deref()),
        (None, Some("no pattern matched the film's texts"))
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(pacs.requests().is_empty(), "nothing stored while held");
    assert_eq!(pacs.identified.load(Ordering::SeqCst), 1);
    assert_eq!(*lock(&seen), [Progress::Pending, Progress::Printing]);

    spool
        .assign(
            &id,
            identity(&[("PatientID", "123"), ("PatientName", "Doe^Jane")]),
        )
        .unwrap();
    wait_state(&spool, &id, State::Done);
    let requests = pacs.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].3,
        identity(&[("PatientID", "123"), ("PatientName", "Doe^Jane")])
    );
    assert_eq!(pacs.identified.load(Ordering::SeqCst), 1, "not asked again");
    assert_eq!(
        events_but_storing(&spool, &id),
        [
            "received",
            "composed",
            "held (no pattern matched the film's texts)",
            "identified (PatientID=123, PatientName=Doe^Jane)",
            "released",
            "stored (PACS@a:104)",
            "done"
        ]
    );
    match spool.assign(&id, identity(&[("PatientID", "9")])) {
        Err(SpoolError::NotAssignable { why, .. }) => assert_eq!(why, "it is done"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        spool.assign("nope", identity(&[("PatientID", "9")])),
        Err(SpoolError::UnknownJob(_))
    ));
}

/// An identity merged into what was found: the operator's fields win, the others stay.
/// Refused once the job is stored at a destination (the PACS has the old identity).
#[test]
fn an_assigned_identity_is_merged_and_refused_once_stored() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(&pacs, fast());
    spool.pause("q").unwrap();
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    // Paused before composition: the job is received, with no identity yet.
    spool
        .assign(&id, identity(&[("AccessionNumber", "A1")]))
        .unwrap();
    spool
        .assign(
            &id,
            identity(&[("AccessionNumber", "A2"), ("PatientID", "7")]),
        )
        .unwrap();
    assert_eq!(
        spool.job(&id).unwrap().unwrap().identity,
        Some(identity(&[("AccessionNumber", "A2"), ("PatientID", "7")]))
    );
    spool.resume("q").unwrap();
    wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    assert_eq!(
        pacs.identified.load(Ordering::SeqCst),
        0,
        "given, not found"
    );
    match spool.assign(&id, identity(&[("PatientID", "8")])) {
        Err(SpoolError::NotAssignable { why, .. }) => {
            assert_eq!(why, "it is already stored at PACS@a:104 under its identity")
        }
        other => panic!("{other:?}"),
    }
}

/// The PACS refused some instances for commitment: they are sent again (a fresh
/// attempt, so a fresh transaction), the last error naming the reasons; the second
/// report commits them.
#[test]
fn instances_the_pacs_did_not_commit_are_sent_again() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(&pacs, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    let failed = report("tx-PACS@a:104-1", &[("2.25.7", 0x0112)]);
    assert!(spool.commitment_report(&failed).unwrap());
    wait_until("sent again", || pacs.requests().len() == 2);
    let d = wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    assert_eq!(d.transaction_uid.as_deref(), Some("tx-PACS@a:104-2"));
    assert_eq!(
        d.last_error.as_deref(),
        Some("1 instance(s) not committed: 2.25.7 (0112H No such object instance)")
    );
    assert_eq!(pacs.requests()[1].1, DestinationState::Pending);
    assert!(
        spool
            .commitment_report(&report("tx-PACS@a:104-2", &[]))
            .unwrap()
    );
    wait_state(&spool, &id, State::Done);
    assert!(
        events(&spool, &id).contains(
            &"retry (PACS@a:104: 1 instance(s) not committed: 2.25.7 (0112H No such object \
              instance))"
                .to_string()
        )
    );
}

/// No report within the commitment timeout: commitment is asked for again (the store
/// is called with the destination `stored`), under the next attempt's transaction.
#[test]
fn a_report_that_never_comes_is_asked_for_again() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(
        &pacs,
        SpoolConfig {
            commit_timeout: Duration::from_millis(100),
            ..fast()
        },
    );
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("asked again", || pacs.requests().len() >= 2);
    let second = pacs.requests()[1].clone();
    assert_eq!((second.1, second.2), (DestinationState::Stored, 2));
    assert!(
        spool
            .commitment_report(&report(&tx("PACS@a:104", 2), &[]))
            .unwrap()
    );
    wait_state(&spool, &id, State::Done);
    assert_eq!(lock(&pacs.instances).len(), 1);
}

/// A PACS that reports on its own association before the store that asked has
/// returned: the report is kept for it, not refused as unknown.
#[test]
fn a_report_that_comes_before_its_store_is_recorded_is_kept_for_it() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(&pacs, fast());
    *lock(&pacs.early) = Some(Arc::downgrade(&spool));
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Done);
    assert_eq!(pacs.transactions(), ["tx-PACS@a:104-1"]);
    assert_eq!(
        destination(&spool, &id, "PACS@a:104").state,
        DestinationState::Committed
    );
}

/// Reports the transaction the destination awaits until the job is done (the store task
/// may ask for commitment again meanwhile, under a fresh transaction).
fn commit_until_done(spool: &Spool, id: &str, dest: &str) {
    wait_until("done", || {
        if let Some(uid) = destination(spool, id, dest).transaction_uid {
            spool.commitment_report(&report(&uid, &[])).unwrap();
        }
        spool.job(id).unwrap().unwrap().state == State::Done
    });
}

/// The PACS answers a commitment asked for again (its report never came) on the same
/// association with instances it lacks: the destination is `pending` again, the old
/// transaction forgotten, and every instance is sent again after the backoff; the last
/// error and the history say why.
#[test]
fn instances_not_committed_on_the_stores_own_association_are_sent_again() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(
        &pacs,
        SpoolConfig {
            commit_timeout: Duration::from_millis(100),
            ..fast()
        },
    );
    let why = "1 instance(s) not committed: 2.25.7 (0112H No such object instance)";
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    pacs.answer(Ok(StoreOutcome::NotCommitted(why.into())));
    wait_until("sent again", || pacs.requests().len() >= 3);
    let requests: Vec<(DestinationState, u32)> =
        pacs.requests().iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(
        requests[..3],
        [
            (DestinationState::Pending, 1),
            (DestinationState::Stored, 2),
            (DestinationState::Pending, 3)
        ]
    );
    commit_until_done(&spool, &id, "PACS@a:104");
    let d = destination(&spool, &id, "PACS@a:104");
    assert_eq!(
        (d.state, d.last_error.as_deref()),
        (DestinationState::Committed, Some(why))
    );
    assert!(
        !spool
            .commitment_report(&report(&tx("PACS@a:104", 1), &[]))
            .unwrap(),
        "the first transaction is forgotten"
    );
    assert!(events(&spool, &id).contains(&format!("retry (PACS@a:104: {why})")));
    assert_eq!(lock(&pacs.instances).len(), 1);
}

/// A store's outcome that comes after a newer state was recorded does not overwrite it:
/// the commitment asked for again is under way when the report for the first
/// transaction commits the destination and ends the job; the late `CommitRequested`
/// leaves both as they are.
#[test]
fn a_late_store_outcome_does_not_overwrite_a_commitment_recorded_meanwhile() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let spool = h.open_pacs(
        &pacs,
        SpoolConfig {
            commit_timeout: Duration::from_millis(100),
            ..fast()
        },
    );
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    pacs.gate.store(true, Ordering::SeqCst);
    wait_until("asked again", || pacs.requests().len() == 2);
    assert!(
        spool
            .commitment_report(&report(&tx("PACS@a:104", 1), &[]))
            .unwrap()
    );
    wait_state(&spool, &id, State::Done);
    pacs.gate.store(false, Ordering::SeqCst);
    wait_until("returned", || pacs.returned.load(Ordering::SeqCst) == 2);
    std::thread::sleep(Duration::from_millis(200));
    let d = destination(&spool, &id, "PACS@a:104");
    assert_eq!(
        (d.state, d.transaction_uid.as_deref(), d.attempts),
        (DestinationState::Committed, None, 2)
    );
    assert_eq!(spool.job(&id).unwrap().unwrap().state, State::Done);
    assert!(
        !spool
            .commitment_report(&report(&tx("PACS@a:104", 2), &[]))
            .unwrap()
    );
    assert_eq!(
        events(&spool, &id)
            .iter()
            .filter(|e| e.starts_with("stored") || e.starts_with("committed"))
            .collect::<Vec<_>>(),
        ["stored (PACS@a:104)", "committed (PACS@a:104)"]
    );
    assert_eq!(pacs.requests().len(), 2);
}

/// Reports for unknown transactions while a store is under way are kept for it, but
/// only 64: beyond, one more is refused as unknown; those kept go once no store
/// is under way.
#[test]
fn reports_kept_for_stores_under_way_are_bounded() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    pacs.gate.store(true, Ordering::SeqCst);
    let spool = h.open_pacs(&pacs, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("a store under way", || pacs.requests().len() == 1);
    for n in 0..64 {
        let unknown = report(&format!("2.25.{n}"), &[]);
        assert!(spool.commitment_report(&unknown).unwrap(), "{n} kept");
    }
    assert!(
        !spool.commitment_report(&report("2.25.1000", &[])).unwrap(),
        "beyond the bound: unknown"
    );
    assert!(
        spool.commitment_report(&report("2.25.0", &[])).unwrap(),
        "one kept already"
    );
    pacs.gate.store(false, Ordering::SeqCst);
    wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    assert!(
        !spool.commitment_report(&report("2.25.0", &[])).unwrap(),
        "dropped once no store is under way"
    );
    commit_until_done(&spool, &id, "PACS@a:104");
}

/// With the PACS down, printed jobs wait in `storing`: they do not count against the
/// queue's limit, so the printer goes on taking prints; jobs not yet printed do count.
#[test]
fn jobs_waiting_only_for_a_pacs_do_not_count_against_the_queue_limit() {
    let h = Harness::new();
    let printer = Arc::new(Fake::printer());
    let pacs = Arc::new(Pacs {
        printer: printer.clone(),
        ..Pacs::archive(&["PACS@a:104"], false)
    });
    for _ in 0..1000 {
        pacs.answer(Err(DeliveryError::Retryable("connection refused".into())));
    }
    let spool = h.open_pacs(
        &pacs,
        SpoolConfig {
            max_jobs_per_queue: 1,
            ..fast()
        },
    );
    let (first, _) = submit(&spool, h.job("first", "MED", 1));
    wait_state(&spool, &first, State::Storing);
    printer.hold.store(true, Ordering::SeqCst);
    let (second, _) = submit(&spool, h.job("second", "MED", 1));
    wait_state(&spool, &second, State::Submitted);
    let err = spool
        .submit(h.job("third", "MED", 1), recorder().1)
        .unwrap_err();
    assert!(
        matches!(&err, SpoolError::Full(Full::Queue { limit: 1, .. })),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "print queue full: queue q holds 1 jobs not yet printed, its limit"
    );
}

/// Once a store has begun at a destination (even one that did not finish: some films
/// may be there), the job's identity is no longer the operator's to change.
#[test]
fn an_identity_is_refused_once_a_store_has_begun() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], false));
    pacs.answer(Err(DeliveryError::Retryable(
        "A700 out of resources".into(),
    )));
    let mut config = fast();
    config.retry.initial_backoff = Duration::from_secs(3600);
    config.retry.max_backoff = Duration::from_secs(3600);
    let spool = h.open_pacs(&pacs, config);
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("tried once", || {
        destination(&spool, &id, "PACS@a:104").last_error.is_some()
    });
    let d = destination(&spool, &id, "PACS@a:104");
    assert_eq!((d.state, d.attempts), (DestinationState::Pending, 1));
    match spool.assign(&id, identity(&[("PatientID", "8")])) {
        Err(SpoolError::NotAssignable { why, .. }) => assert_eq!(
            why,
            "1 store(s) at PACS@a:104 began under its identity: some of its instances may \
             be there already"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        spool.job(&id).unwrap().unwrap().identity,
        Some(identity(&[("PatientID", "P1")]))
    );
}

mod recovery;
