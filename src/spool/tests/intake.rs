//! Intake in groups (engine/intake.rs) and the retirement of jobs done by a relaxed
//! commit (engine/compose.rs), seen from the spool's API.

use super::*;
use crate::spool::store::JobStore;
use std::collections::HashSet;

impl Harness {
    fn database(&self) -> std::path::PathBuf {
        DataDir::new(self.dir.path()).database()
    }

    /// Submits `n` jobs from `n` threads at once; each thread's outcome, and whether
    /// the job's row and payload were there, seen from another connection, the moment
    /// its submit returned.
    fn submit_at_once(
        &self,
        spool: &Arc<Spool>,
        n: usize,
        priority: impl Fn(usize) -> &'static str,
    ) -> Vec<(Result<String, SpoolError>, bool)> {
        let start = Arc::new(std::sync::Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (spool, start, db) = (spool.clone(), start.clone(), self.database());
                let jobs = self.dir.path().join("spool/jobs");
                let job = self.job(&format!("j{i:02}"), priority(i), 1);
                std::thread::spawn(move || {
                    start.wait();
                    let outcome = spool.submit(job, Box::new(|_| {}));
                    let durable = outcome.as_ref().is_ok_and(|id| {
                        let reader = JobStore::open_read_only(&db).unwrap();
                        reader.get(id).unwrap().is_some() && jobs.join(format!("{id}.job")).exists()
                    });
                    (outcome, durable)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }
}

/// Many N-ACTIONs at once: every one is acknowledged, and each only once its row is
/// committed (another connection sees it) and its payload is in place.
#[test]
fn concurrent_submits_are_each_acknowledged_only_once_committed() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    fake.set_gate(true);
    let spool = h.open(&fake, fast());
    let outcomes = h.submit_at_once(&spool, 48, |_| "MED");
    let mut ids = HashSet::new();
    for (outcome, durable) in outcomes {
        let id = outcome.unwrap();
        assert!(durable, "{id} acknowledged before its commit");
        assert!(ids.insert(id));
    }
    assert_eq!(h.payloads(), 48);
    fake.set_gate(false);
    for id in &ids {
        wait_state(&spool, id, State::Done);
    }
    wait_until("every payload retired", || h.payloads() == 0);
}

/// Jobs committed together keep Print Priority, then arrival (their order in the
/// group), for composition.
#[test]
fn jobs_committed_together_are_composed_by_priority_then_arrival() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(&fake, fast());
    fake.set_gate(true);
    let (blocker, _) = submit(&spool, h.job("blocker", "MED", 1));
    wait_until("the compose thread taken", || {
        fake.composing.load(Ordering::SeqCst) == 1
    });
    let terms = ["LOW", "HIGH", "MED"];
    let outcomes = h.submit_at_once(&spool, 24, |i| terms[i % 3]);
    let mut rows: Vec<JobRow> = outcomes
        .into_iter()
        .map(|(o, _)| spool.job(&o.unwrap()).unwrap().unwrap())
        .collect();
    rows.sort_by_key(|r| (r.priority, r.seq));
    fake.set_gate(false);
    wait_state(&spool, &blocker, State::Done);
    for r in &rows {
        wait_state(&spool, &r.id, State::Done);
    }
    let composed: Vec<String> = fake
        .log()
        .iter()
        .filter_map(|l| l.strip_prefix("compose "))
        .skip(1)
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    assert_eq!(composed, expected);
}

/// A group whose transaction fails fails every N-ACTION in it, with the database's
/// error, and leaves neither rows nor payloads; the next group is not affected.
#[test]
fn a_failing_group_commit_fails_every_member_and_leaves_nothing() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(&fake, fast());
    let other = rusqlite::Connection::open(h.database()).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON jobs BEGIN
                 SELECT RAISE(ABORT, 'injected failure');
             END;",
        )
        .unwrap();
    for (outcome, _) in h.submit_at_once(&spool, 16, |_| "MED") {
        let e = outcome.unwrap_err();
        assert!(
            matches!(&e, SpoolError::Store(_)) && e.to_string().contains("injected failure"),
            "{e}"
        );
    }
    assert_eq!(h.payloads(), 0);
    assert_eq!(spool.count_jobs(&JobFilter::default()).unwrap(), 0);
    other.execute_batch("DROP TRIGGER refuse;").unwrap();
    let (id, _) = submit(&spool, h.job("after", "MED", 1));
    wait_state(&spool, &id, State::Done);
}

/// A job done by a relaxed commit whose retirement a stop cut short (the row `done`,
/// its payload still there) is retired at the next start: payload removed, the finished
/// hook told.
#[test]
fn a_job_done_but_not_retired_at_a_stop_is_retired_at_the_start() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let job = {
        let spool = h.open(&fake, fast());
        let job = PrintJob {
            id: "cut-short".into(),
            ..h.job("cut", "MED", 1)
        };
        spool.shutdown();
        job
    };
    let layout = payload::Layout::new(&DataDir::new(h.dir.path()));
    write_durably(
        &layout.payload(&job.id),
        &payload::encode_job(&job).unwrap(),
    )
    .unwrap();
    let store = JobStore::open(&h.database()).unwrap();
    let row = engine_new_job(&job);
    store.insert(&row, now_ms(), None).unwrap();
    assert!(
        store
            .transition(&job.id, &[State::Received], State::Done, None, now_ms())
            .unwrap()
    );
    drop(store);
    let finished: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook: FinishedHook = {
        let finished = finished.clone();
        Arc::new(move |row: &JobRow| lock(&finished).push(row.id.clone()))
    };
    let _guard = h.rt.enter();
    let outputs: HashMap<String, Arc<dyn QueueOutputs>> =
        [("q".to_string(), fake.clone() as Arc<dyn QueueOutputs>)].into();
    let spool = Spool::open_with(&DataDir::new(h.dir.path()), fast(), outputs, Some(hook)).unwrap();
    assert_eq!(h.payloads(), 0);
    assert_eq!(*lock(&finished), ["cut-short"]);
    assert_eq!(spool.job("cut-short").unwrap().unwrap().state, State::Done);
    assert!(fake.log().is_empty(), "not composed again");
}

/// The row the spool commits for `job`.
fn engine_new_job(job: &PrintJob) -> store::NewJob {
    store::NewJob {
        id: job.id.clone(),
        uid: job.uid.clone(),
        queue: job.queue.clone(),
        priority: Priority::from_term(&job.priority),
        copies: job.copies,
        films: 0,
        label: job.film_session_label.clone(),
        owner: job.owner_id.clone(),
        calling_ae: job.calling_ae_title.clone(),
        payload_bytes: 0,
        film_params: vec![],
        destinations: vec![],
    }
}
