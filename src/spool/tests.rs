//! Engine tests with an in-memory printer: ordering, retries, refusals, crashes, limits.

use super::*;
use crate::data_dir::DataDir;
use crate::film::Device;
use std::fs;
use std::sync::Condvar;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hang {
    /// submit never returns and the printer never got the job.
    BeforeAccept,
    /// The printer got the job, but submit never returns (filmd dies before recording it).
    AfterAccept,
}

#[derive(Debug, Clone)]
struct RemoteJob {
    id: String,
    name: String,
    copies: u32,
    document: Document,
    state: RemoteState,
}

/// Composition and a printer in memory, with switches for the failures under test.
#[derive(Default)]
struct Fake {
    printer: bool,
    /// Submissions answered "busy" before one is accepted.
    busy: AtomicU32,
    refuse: Mutex<Option<String>>,
    hang: Mutex<Option<Hang>>,
    /// While set, the printer reports its jobs as processing.
    hold: AtomicBool,
    /// While closed, composition waits.
    gate_closed: Mutex<bool>,
    gate: Condvar,
    composing: AtomicU32,
    /// "compose <label>", "submit <label>", "cancel <remote id>" in order.
    log: Mutex<Vec<String>>,
    jobs: Mutex<Vec<RemoteJob>>,
    submits: AtomicU32,
    finds: AtomicU32,
    /// The printer job IDs asked about, in order.
    polls: Mutex<Vec<String>>,
}

impl Fake {
    fn printer() -> Fake {
        Fake {
            printer: true,
            ..Fake::default()
        }
    }

    fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    fn set_gate(&self, closed: bool) {
        *lock(&self.gate_closed) = closed;
        self.gate.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap()
}

impl QueueOutputs for Fake {
    fn compose(&self, job: &PrintJob, out_dir: &Path) -> Result<Composed, DeliveryError> {
        self.composing.fetch_add(1, Ordering::SeqCst);
        let mut closed = lock(&self.gate_closed);
        while *closed {
            closed = self.gate.wait(closed).unwrap();
        }
        drop(closed);
        lock(&self.log).push(format!("compose {}", job.film_session_label));
        let path = out_dir.join("doc.pdf");
        // One page per film, never one per copy.
        std::fs::create_dir_all(out_dir)
            .and_then(|()| write_durably(&path, format!("{} film(s)", job.films.len()).as_bytes()))
            .map_err(|e| DeliveryError::Retryable(e.to_string()))?;
        Ok(Composed {
            document: self.printer.then(|| Document {
                path,
                format: "application/pdf".into(),
            }),
            note: "fake".into(),
        })
    }

    fn has_printer(&self) -> bool {
        self.printer
    }

    fn submit(&self, s: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
        Box::pin(async move {
            self.submits.fetch_add(1, Ordering::SeqCst);
            let hang = *lock(&self.hang);
            if hang == Some(Hang::BeforeAccept) {
                std::future::pending::<()>().await;
            }
            if self
                .busy
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(DeliveryError::Retryable("printer busy".into()));
            }
            if let Some(reason) = lock(&self.refuse).clone() {
                return Err(DeliveryError::Permanent(reason));
            }
            let id = {
                let mut jobs = lock(&self.jobs);
                let id = format!("r{}", jobs.len() + 1);
                jobs.push(RemoteJob {
                    id: id.clone(),
                    name: s.job_name.clone(),
                    copies: s.copies,
                    document: s.document.clone(),
                    state: RemoteState::Pending,
                });
                id
            };
            lock(&self.log).push(format!("submit {}", s.label));
            if hang == Some(Hang::AfterAccept) {
                std::future::pending::<()>().await;
            }
            Ok(id)
        })
    }

    fn poll<'a>(
        &'a self,
        remote_id: &'a str,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
        Box::pin(async move {
            lock(&self.polls).push(remote_id.to_string());
            let mut jobs = lock(&self.jobs);
            let Some(job) = jobs
                .iter_mut()
                .find(|j| j.id == remote_id && j.name == job_name)
            else {
                return Ok(RemoteState::Gone);
            };
            if matches!(job.state, RemoteState::Pending | RemoteState::Processing) {
                job.state = if self.hold.load(Ordering::SeqCst) {
                    RemoteState::Processing
                } else {
                    RemoteState::Done
                };
            }
            Ok(job.state.clone())
        })
    }

    fn find<'a>(
        &'a self,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, RemoteState)>, DeliveryError>> {
        Box::pin(async move {
            self.finds.fetch_add(1, Ordering::SeqCst);
            Ok(lock(&self.jobs)
                .iter()
                .rev()
                .find(|j| j.name == job_name)
                .map(|j| (j.id.clone(), j.state.clone())))
        })
    }

    fn cancel<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            for j in lock(&self.jobs).iter_mut().filter(|j| j.id == remote_id) {
                j.state = RemoteState::Canceled;
            }
            lock(&self.log).push(format!("cancel {remote_id}"));
            Ok(())
        })
    }
}

struct Harness {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            dir: tempfile::tempdir().unwrap(),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn open(&self, fake: &Arc<Fake>, config: SpoolConfig) -> Arc<Spool> {
        let _guard = self.rt.enter();
        let outputs: HashMap<String, Arc<dyn QueueOutputs>> =
            [("q".to_string(), fake.clone() as Arc<dyn QueueOutputs>)].into();
        Spool::open(&DataDir::new(self.dir.path()), config, outputs).unwrap()
    }

    fn job(&self, label: &str, priority: &str, copies: u32) -> PrintJob {
        PrintJob {
            id: String::new(),
            uid: format!("2.25.{}", label.len()),
            queue: "q".into(),
            calling_ae_title: "SCU".into(),
            film_session_label: label.into(),
            owner_id: String::new(),
            priority: priority.into(),
            copies,
            created_unix: 0,
            device: Device {
                dpi: 100,
                min_density: 0,
                max_density: 300,
                margin_mm: 0.0,
                gap_mm: 0.0,
                ..Device::default()
            },
            films: vec![],
        }
    }

    fn payloads(&self) -> usize {
        fs::read_dir(self.dir.path().join("spool/jobs"))
            .unwrap()
            .count()
    }
}

fn fast() -> SpoolConfig {
    SpoolConfig {
        workers: 1,
        min_free_mib: 0,
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            ..RetryPolicy::default()
        },
        ..SpoolConfig::default()
    }
}

type Seen = Arc<Mutex<Vec<Progress>>>;

fn recorder() -> (Seen, Observer) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    (seen, Box::new(move |st| lock(&s).push(st)))
}

fn submit(spool: &Spool, job: PrintJob) -> (String, Seen) {
    let (seen, observer) = recorder();
    (spool.submit(job, observer).unwrap(), seen)
}

/// Waits until `f` holds, for at most 60 s (a bound for a loaded machine, not a timing).
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_state(spool: &Spool, id: &str, state: State) -> JobRow {
    let mut last = None;
    let start = Instant::now();
    loop {
        let row = spool.job(id).unwrap();
        if let Some(r) = &row
            && r.state == state
        {
            return r.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job {id} never reached {state:?}: {last:?}"
        );
        last = row;
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn archive_queue_job_is_composed_once_reported_in_order_and_cleaned_up() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(&fake, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 2));
    let row = wait_state(&spool, &id, State::Done);
    assert_eq!(
        (row.copies, row.attempts, row.note.as_deref()),
        (2, 1, Some("fake"))
    );
    wait_until("DONE reported", || lock(&seen).len() == 3);
    assert_eq!(
        *lock(&seen),
        [Progress::Pending, Progress::Printing, Progress::Done]
    );
    assert_eq!(fake.log(), ["compose a"]);
    assert_eq!(h.payloads(), 0, "a done job's payload is removed");
    assert!(!h.dir.path().join("spool/out").join(&id).exists());
    assert_eq!(spool.backlog(), 0);
    assert_eq!(spool.counts().unwrap()["q"][&State::Done], 1);
}

/// One compose thread and one printer slot, both taken, while jobs of every priority
/// arrive: composition and submission then go HIGH, MED, LOW, each by arrival. (The
/// printer is taken first by a job already there, so that no job can reach it merely
/// by being composed sooner.)
#[test]
fn high_before_med_before_low_then_arrival_in_composition_and_submission() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (first, _) = submit(&spool, h.job("first", "LOW", 1));
    wait_state(&spool, &first, State::Submitted);
    fake.set_gate(true);
    let (blocker, _) = submit(&spool, h.job("blocker", "LOW", 1));
    wait_until("the compose thread taken", || {
        fake.composing.load(Ordering::SeqCst) == 2
    });
    let mut ids = vec![first, blocker];
    for (label, priority) in [
        ("low1", "LOW"),
        ("med1", "MED"),
        ("high1", "HIGH"),
        ("low2", "LOW"),
        ("high2", "HIGH"),
        ("med2", ""),
    ] {
        ids.push(submit(&spool, h.job(label, priority, 1)).0);
    }
    fake.set_gate(false);
    for id in &ids[1..] {
        wait_state(&spool, id, State::Composed);
    }
    // The first job holds the printer; the rest wait in priority order.
    fake.hold.store(false, Ordering::SeqCst);
    for id in &ids {
        wait_state(&spool, id, State::Done);
    }
    let log = fake.log();
    let composed: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("compose "))
        .collect();
    let submitted: Vec<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("submit "))
        .collect();
    assert_eq!(
        composed,
        [
            "first", "blocker", "high1", "high2", "med1", "med2", "low1", "low2"
        ]
    );
    assert_eq!(
        submitted,
        [
            "first", "high1", "high2", "med1", "med2", "blocker", "low1", "low2"
        ]
    );
    assert_eq!(
        fake.finds.load(Ordering::SeqCst),
        0,
        "no lookups without a crash"
    );
}

#[test]
fn busy_printer_is_retried_until_it_accepts_and_copies_go_once() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.busy.store(3, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 3));
    let row = wait_state(&spool, &id, State::Done);
    assert_eq!(fake.submits.load(Ordering::SeqCst), 4);
    assert_eq!(row.attempts, 4, "four submissions started");
    assert_eq!(row.last_error.as_deref(), Some("printer busy"));
    assert_eq!(row.remote_id.as_deref(), Some("r1"));
    let jobs = lock(&fake.jobs).clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].copies, jobs[0].name.clone()), (3, job_name(&id)));
    assert_eq!(jobs[0].document.format, "application/pdf");
    assert_eq!(fake.log(), ["compose a", "submit a"], "composed once");
    wait_until("DONE reported", || {
        lock(&seen).last() == Some(&Progress::Done)
    });
    // PRINTING once the printer took it, not while it was busy.
    assert_eq!(
        *lock(&seen),
        [Progress::Pending, Progress::Printing, Progress::Done]
    );
}

#[test]
fn permanent_refusal_fails_the_job_with_the_printers_reason() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    *lock(&fake.refuse) = Some("document-format-not-supported".into());
    let spool = h.open(&fake, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 1));
    let row = wait_state(&spool, &id, State::Failed);
    let reason = "printer refused the job: document-format-not-supported";
    assert_eq!(row.last_error.as_deref(), Some(reason));
    assert_eq!(fake.submits.load(Ordering::SeqCst), 1);
    // Never at the printer, so never PRINTING.
    wait_until("FAILURE reported", || lock(&seen).len() == 2);
    assert_eq!(
        *lock(&seen),
        [Progress::Pending, Progress::Failed(reason.into())]
    );
    assert_eq!(
        h.payloads(),
        1,
        "a failed job's files stay for the retention"
    );
}

#[test]
fn crash_after_the_printer_took_the_job_adopts_it_instead_of_sending_it_again() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    *lock(&fake.hang) = Some(Hang::AfterAccept);
    let spool = h.open(&fake, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 2));
    wait_until("printer got the job", || lock(&fake.jobs).len() == 1);
    assert_eq!(spool.job(&id).unwrap().unwrap().state, State::Submitting);
    // The crash: everything in flight is dropped, nothing more is recorded.
    drop(spool);
    *lock(&fake.hang) = None;
    let spool = h.open(&fake, fast());
    let row = wait_state(&spool, &id, State::Done);
    assert_eq!(fake.submits.load(Ordering::SeqCst), 1, "submitted once");
    assert_eq!(fake.finds.load(Ordering::SeqCst), 1);
    assert_eq!(row.remote_id.as_deref(), Some("r1"));
    assert_eq!(lock(&fake.jobs).len(), 1);
}

#[test]
fn crash_before_the_printer_got_the_job_sends_it_after_looking() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    *lock(&fake.hang) = Some(Hang::BeforeAccept);
    let spool = h.open(&fake, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("submission started", || {
        fake.submits.load(Ordering::SeqCst) == 1
    });
    drop(spool);
    *lock(&fake.hang) = None;
    let spool = h.open(&fake, fast());
    let row = wait_state(&spool, &id, State::Done);
    assert_eq!(fake.finds.load(Ordering::SeqCst), 1);
    assert_eq!(lock(&fake.jobs).len(), 1, "the printer has it once");
    assert_eq!(row.attempts, 2);
}

#[test]
fn queue_limit_gives_full_and_leaves_nothing_behind() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.busy.store(u32::MAX, Ordering::SeqCst);
    let spool = h.open(
        &fake,
        SpoolConfig {
            max_jobs_per_queue: 1,
            ..fast()
        },
    );
    let (first, _) = submit(&spool, h.job("a", "MED", 1));
    let (seen, observer) = recorder();
    let err = spool.submit(h.job("b", "MED", 1), observer).unwrap_err();
    assert!(
        matches!(&err, SpoolError::Full(Full::Queue { queue, limit: 1 }) if queue == "q"),
        "{err}"
    );
    assert!(lock(&seen).is_empty(), "no PENDING for a refused job");
    let all = spool.jobs(&JobFilter::default()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, first);
    assert_eq!(h.payloads(), 1);
    // Once the first job ends, there is room again.
    assert!(spool.cancel(&first).unwrap());
    assert!(!spool.cancel(&first).unwrap(), "already cancelled");
    spool.submit(h.job("c", "MED", 1), recorder().1).unwrap();
}

#[test]
fn spool_disk_reserve_gives_full_and_leaves_nothing_behind() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(
        &fake,
        SpoolConfig {
            min_free_mib: 1 << 40,
            ..fast()
        },
    );
    let err = spool
        .submit(h.job("a", "MED", 1), recorder().1)
        .unwrap_err();
    assert!(
        matches!(err, SpoolError::Full(Full::Disk { min_free_mib, .. }) if min_free_mib == 1 << 40),
        "{err}"
    );
    assert!(err.to_string().contains("spool disk full"), "{err}");
    assert!(spool.jobs(&JobFilter::default()).unwrap().is_empty());
    assert_eq!(h.payloads(), 0);
}

#[test]
fn start_removes_unacknowledged_payloads_and_fails_jobs_without_one() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    drop(h.open(&fake, fast()));
    let layout = payload::Layout::new(&DataDir::new(h.dir.path()));
    // A payload whose row was never committed: its N-ACTION was not answered with success.
    write_durably(&layout.payload("stray"), b"FILMDJ03").unwrap();
    // A committed job whose payload is gone.
    let store = JobStore::open(&layout.database()).unwrap();
    store
        .insert(
            &store::NewJob {
                id: "ghost".into(),
                uid: "2.25.9".into(),
                queue: "q".into(),
                priority: Priority::Med,
                copies: 1,
                films: 1,
                label: String::new(),
                owner: String::new(),
                calling_ae: "SCU".into(),
                payload_bytes: 1,
                film_params: Vec::new(),
                destinations: Vec::new(),
            },
            1,
            None,
        )
        .unwrap();
    drop(store);
    let spool = h.open(&fake, fast());
    assert!(!layout.payload("stray").exists());
    let row = spool.job("ghost").unwrap().unwrap();
    assert_eq!(row.state, State::Failed);
    let err = row.last_error.unwrap();
    assert!(
        err.contains("payload file") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn a_job_that_keeps_crashing_composition_fails_after_the_attempt_limit() {
    let h = Harness::new();
    let stuck = Arc::new(Fake::default());
    stuck.set_gate(true);
    let spool = h.open(&stuck, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("composing", || stuck.composing.load(Ordering::SeqCst) == 1);
    // Three more runs that died composing it: attempts are counted when they start.
    let store =
        JobStore::open(&payload::Layout::new(&DataDir::new(h.dir.path())).database()).unwrap();
    for _ in 0..3 {
        store.begin_attempt(&id, State::Received, 1).unwrap();
    }
    drop(store);
    // The crash: this spool's compose thread stays behind the gate.
    spool.inner.stop();
    let fresh = Arc::new(Fake::default());
    let restarted = h.open(&fresh, fast());
    let row = wait_state(&restarted, &id, State::Failed);
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("did not complete in 3 attempts")),
        "{row:?}"
    );
    assert!(fresh.log().is_empty(), "not composed again");
    stuck.set_gate(false);
}

#[test]
fn cancelling_a_job_at_the_printer_cancels_it_there() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Submitted);
    assert!(spool.cancel(&id).unwrap());
    let row = wait_state(&spool, &id, State::Cancelled);
    assert_eq!(row.last_error.as_deref(), Some("cancelled by the operator"));
    wait_until("printer told", || fake.log().contains(&"cancel r1".into()));
    assert_eq!(
        lock(&seen).last(),
        Some(&Progress::Failed("cancelled by the operator".into()))
    );
}

#[test]
fn finished_jobs_are_removed_after_the_retention() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    *lock(&fake.refuse) = Some("no".into());
    let spool = h.open(
        &fake,
        SpoolConfig {
            retention: Duration::ZERO,
            ..fast()
        },
    );
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("swept", || spool.job(&id).unwrap().is_none());
    assert_eq!(h.payloads(), 0, "a failed job's payload goes with its row");
    assert!(!h.dir.path().join("spool/out").join(&id).exists());
}

/// Previews are what an operator looks at after the film printed: a done job keeps them
/// (while its payload goes at once), and they go with its row at the end of the retention.
#[test]
fn previews_stay_while_the_job_is_listed_and_go_with_its_row() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(
        &fake,
        SpoolConfig {
            retention: Duration::from_secs(2),
            ..fast()
        },
    );
    // Two films (the fake composes none of them): their previews are the row's films.
    let mut job = h.job("a", "MED", 1);
    job.films = vec![
        crate::film::fixtures::film(0),
        crate::film::fixtures::film(255),
    ];
    let (id, _) = submit(&spool, job);
    let data = DataDir::new(h.dir.path());
    fs::create_dir_all(data.previews()).unwrap();
    fs::write(data.preview(&id, 1), b"png").unwrap();
    fs::write(data.preview(&id, 2), b"png").unwrap();
    wait_state(&spool, &id, State::Done);
    wait_until("a done job's payload goes at once", || h.payloads() == 0);
    assert!(data.preview(&id, 1).exists(), "its previews stay");
    wait_until("swept", || spool.job(&id).unwrap().is_none());
    assert!(!data.preview(&id, 1).exists(), "previews go with the row");
    assert!(!data.preview(&id, 2).exists(), "every film's");
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let r = RetryPolicy::default();
    let secs: Vec<u64> = [1, 2, 3, 4, 9, 100]
        .iter()
        .map(|&n| r.backoff(n).as_secs())
        .collect();
    assert_eq!(secs, [2, 4, 8, 16, 300, 300]);
    assert_eq!(job_name("x-1"), "filmd-x-1");
}

#[test]
fn a_payload_whose_row_is_refused_is_removed_again() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(&fake, fast());
    let mut job = h.job("a", "MED", 1);
    job.id = "refused".into();
    let bytes = payload::encode_job(&job).unwrap();
    // Limit 0: the payload is written, then the row's transaction refuses the job.
    let err = spool.inner.commit(&job, &bytes, 0).unwrap_err();
    assert!(
        matches!(err, SpoolError::Full(Full::Queue { limit: 0, .. })),
        "{err}"
    );
    assert_eq!(h.payloads(), 0);
    assert!(spool.job("refused").unwrap().is_none());
}

/// The printer's job history is purged while the job is printing (or the printer
/// restarted and dropped it): the job is neither found by its ID nor by its name. Nobody
/// can say whether the film came out, so it is not sent again and not called done: it
/// fails with that reason and keeps its files for the retention.
#[test]
fn a_job_the_printer_forgot_fails_as_unknown_keeps_its_files_and_is_not_sent_again() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (id, seen) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Submitted);
    wait_until("polled while printing", || lock(&fake.polls).len() >= 2);
    lock(&fake.jobs).clear();
    let row = wait_state(&spool, &id, State::Failed);
    let reason = "printer no longer lists job r1 (history purged or printer restarted): \
                  whether it printed is not known";
    assert_eq!(row.last_error.as_deref(), Some(reason));
    assert_eq!(fake.submits.load(Ordering::SeqCst), 1, "never sent again");
    assert_eq!(
        fake.finds.load(Ordering::SeqCst),
        1,
        "looked up by name once"
    );
    assert_eq!(h.payloads(), 1, "its files stay for the retention");
    wait_until("FAILURE reported", || {
        lock(&seen).last() == Some(&Progress::Failed(reason.into()))
    });
}

/// A printer that restarted numbers its jobs from 1 again: our ID now names another
/// job, which must not be taken for ours (its state would be reported for our film).
/// Ours is found by name under its new ID and followed there.
#[test]
fn a_reused_printer_job_id_is_not_taken_for_ours() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    let row = wait_state(&spool, &id, State::Submitted);
    assert_eq!(row.remote_id.as_deref(), Some("r1"));
    {
        let mut jobs = lock(&fake.jobs);
        let mut ours = jobs[0].clone();
        ours.id = "r7".into();
        ours.state = RemoteState::Processing;
        let mut other = jobs[0].clone();
        other.name = "filmd-someone-else".into();
        other.state = RemoteState::Failed("jammed".into());
        *jobs = vec![other, ours];
    }
    fake.hold.store(false, Ordering::SeqCst);
    let row = wait_state(&spool, &id, State::Done);
    assert_eq!(row.remote_id.as_deref(), Some("r7"));
    assert_eq!(
        row.last_error, None,
        "followed to completion, nothing in doubt"
    );
    assert_eq!(fake.submits.load(Ordering::SeqCst), 1);
    assert!(lock(&fake.polls).contains(&"r7".to_string()));
}

/// A printer that refused a film as unavailable gets it back as soon as the printer
/// poller sees it recover, not after the backoff (an hour here, so only the recovery
/// can send it).
#[test]
fn a_printer_back_from_an_outage_gets_the_waiting_film_at_once() {
    use crate::outputs::board::{PrinterBoard, PrinterCondition, PrinterStatus, follow_recoveries};
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.busy.store(1, Ordering::SeqCst);
    let mut config = fast();
    config.retry.initial_backoff = Duration::from_secs(3600);
    config.retry.max_backoff = Duration::from_secs(3600);
    let spool = h.open(&fake, config);
    let board = PrinterBoard::new(["q"]);
    board.set(
        "q",
        PrinterCondition {
            status: PrinterStatus::Failure,
            info: "PRINTER DOWN".into(),
            detail: "connection refused".into(),
        },
    );
    let back = Arc::downgrade(&spool);
    let _runtime = h.rt.enter();
    let _follow = follow_recoveries(
        &board,
        spool.printer_queues(),
        Arc::new(move |q: &str| {
            if let Some(spool) = back.upgrade() {
                spool.printer_back(q);
            }
        }),
    );
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("first submission refused", || {
        spool.job(&id).unwrap().unwrap().last_error.as_deref() == Some("printer busy")
    });
    assert_eq!(spool.job(&id).unwrap().unwrap().state, State::Submitting);
    board.set("q", PrinterCondition::normal());
    let row = wait_state(&spool, &id, State::Done);
    assert_eq!(fake.submits.load(Ordering::SeqCst), 2);
    assert_eq!(row.attempts, 2);
}

/// An operator prints a failed job again: it goes as a new job, under its own printer
/// job name, and the old row says where it went. Asking again is refused (a second film)
/// unless forced, as is printing again a job that had reached its printer; jobs that are
/// not over, or unknown, are refused with a reason.
#[test]
fn a_failed_job_is_printed_again_as_a_new_job_once() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    *lock(&fake.refuse) = Some("media-jam".into());
    let spool = h.open(&fake, fast());
    let (old, _) = submit(&spool, h.job("a", "MED", 2));
    wait_state(&spool, &old, State::Failed);
    *lock(&fake.refuse) = None;

    let new = spool.retry(&old, false).unwrap();
    assert_ne!(new, old);
    let row = wait_state(&spool, &new, State::Submitted);
    assert_eq!((row.copies, row.label.as_str()), (2, "a"));
    assert!(matches!(
        spool.retry(&new, false),
        Err(SpoolError::NotRetryable {
            state: "submitted",
            ..
        })
    ));
    match spool.retry(&old, false) {
        Err(SpoolError::AlreadyRetried { new: n, .. }) => assert_eq!(n, new),
        other => panic!("a second retry: {other:?}"),
    }
    fake.hold.store(false, Ordering::SeqCst);
    wait_state(&spool, &new, State::Done);
    let jobs = lock(&fake.jobs).clone();
    assert_eq!(
        jobs.len(),
        1,
        "the refused attempt never reached the printer"
    );
    assert_eq!(jobs[0].name, job_name(&new));
    let old_row = spool.job(&old).unwrap().unwrap();
    assert_eq!(old_row.state, State::Failed, "the old row stays as it was");
    assert_eq!(old_row.retried_as.as_deref(), Some(new.as_str()));
    assert_eq!(
        old_row.note,
        Some(format!("fake; printed again as {new}")),
        "added to the composition note"
    );
    assert!(matches!(
        spool.retry("no-such-job", false),
        Err(SpoolError::UnknownJob(_))
    ));

    // Forced, it goes once more.
    let again = spool.retry(&old, true).unwrap();
    assert!(again != new && again != old);
    wait_state(&spool, &again, State::Done);
    assert_eq!(
        spool.job(&old).unwrap().unwrap().retried_as.as_deref(),
        Some(again.as_str())
    );
}

/// A job cancelled while at the printer may have printed: printing it again needs the
/// operator to say so.
#[test]
fn a_job_that_reached_its_printer_is_printed_again_only_when_forced() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (old, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &old, State::Submitted);
    assert!(spool.cancel(&old).unwrap());
    match spool.retry(&old, false) {
        Err(SpoolError::ReachedPrinter { remote, .. }) => assert_eq!(remote, "r1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        spool.job(&old).unwrap().unwrap().retried_as,
        None,
        "nothing claimed"
    );
    fake.hold.store(false, Ordering::SeqCst);
    let new = spool.retry(&old, true).unwrap();
    wait_state(&spool, &new, State::Done);
}

mod controls;
mod intake;
mod pacs;
