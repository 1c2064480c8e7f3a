//! The operator's controls in the engine: held jobs, paused and refusing queues, a job's
//! history and the change counter.

use super::*;

impl Harness {
    /// A spool with two queues on the same outputs: `q`, and `r` whose jobs show when
    /// the compose thread (one) got past `q`'s.
    fn open_two(&self, fake: &Arc<Fake>, config: SpoolConfig) -> Arc<Spool> {
        let _guard = self.rt.enter();
        let outputs: HashMap<String, Arc<dyn QueueOutputs>> = ["q", "r"]
            .map(|q| (q.to_string(), fake.clone() as Arc<dyn QueueOutputs>))
            .into();
        Spool::open(&DataDir::new(self.dir.path()), config, outputs).unwrap()
    }

    fn job_on(&self, queue: &str, label: &str) -> PrintJob {
        PrintJob {
            queue: queue.into(),
            ..self.job(label, "MED", 1)
        }
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

/// A held job is passed over by composition (a later job of another queue goes first),
/// stays held across a restart, and goes as soon as it is released.
#[test]
fn a_held_job_is_not_delivered_until_released_even_after_a_restart() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open_two(&fake, fast());
    spool.pause("q").unwrap();
    let (held, _) = submit(&spool, h.job_on("q", "held"));
    assert!(spool.hold(&held).unwrap());
    assert!(!spool.hold(&held).unwrap(), "holding twice changes nothing");
    assert!(spool.resume("q").unwrap());
    let (other, _) = submit(&spool, h.job_on("r", "other"));
    wait_state(&spool, &other, State::Done);
    let row = spool.job(&held).unwrap().unwrap();
    assert_eq!((row.state, row.held), (State::Received, true));
    assert_eq!(fake.log(), ["compose other"]);
    drop(spool);

    let spool = h.open_two(&fake, fast());
    let (after, _) = submit(&spool, h.job_on("r", "after restart"));
    wait_state(&spool, &after, State::Done);
    assert!(
        spool.job(&held).unwrap().unwrap().held,
        "held across a restart"
    );
    assert_eq!(fake.log(), ["compose other", "compose after restart"]);

    assert!(spool.release(&held).unwrap());
    let row = wait_state(&spool, &held, State::Done);
    assert!(!row.held);
    assert_eq!(
        events(&spool, &held),
        ["received", "held", "released", "composed", "done"]
    );
    assert!(matches!(
        spool.hold(&held),
        Err(SpoolError::NotHoldable { state: "done", .. })
    ));
    assert!(matches!(spool.hold("nope"), Err(SpoolError::UnknownJob(_))));
}

/// A paused queue accepts prints but composes nothing (a later job of another queue
/// goes first) and sends nothing to its printer; what is at the printer finishes; resume
/// delivers at once; the pause survives a restart.
#[test]
fn a_paused_queue_composes_and_submits_nothing_until_resumed() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.hold.store(true, Ordering::SeqCst);
    let spool = h.open_two(&fake, fast());
    let (first, _) = submit(&spool, h.job_on("q", "first"));
    wait_state(&spool, &first, State::Submitted);
    let (waiting, _) = submit(&spool, h.job_on("q", "waiting"));
    wait_state(&spool, &waiting, State::Composed);
    assert!(spool.pause("q").unwrap());
    assert!(!spool.pause("q").unwrap());
    let (late, _) = submit(&spool, h.job_on("q", "late"));
    let (other, _) = submit(&spool, h.job_on("r", "other"));
    wait_state(&spool, &other, State::Submitted);
    // What is at the printer goes on: the first job finishes while paused.
    fake.hold.store(false, Ordering::SeqCst);
    wait_state(&spool, &first, State::Done);
    wait_state(&spool, &other, State::Done);
    // Rounds of q's delivery task run every poll interval (20 ms); give it many.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(spool.job(&waiting).unwrap().unwrap().state, State::Composed);
    assert_eq!(spool.job(&late).unwrap().unwrap().state, State::Received);
    assert_eq!(
        fake.log(),
        [
            "compose first",
            "submit first",
            "compose waiting",
            "compose other",
            "submit other"
        ]
    );
    drop(spool);

    let spool = h.open_two(&fake, fast());
    assert!(
        spool.queue_controls().unwrap()["q"].paused,
        "kept across a restart"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(spool.job(&late).unwrap().unwrap().state, State::Received);
    assert!(spool.resume("q").unwrap());
    wait_state(&spool, &waiting, State::Done);
    wait_state(&spool, &late, State::Done);
    assert!(!spool.queue_controls().unwrap()["q"].paused);
    assert!(matches!(
        spool.pause("nope"),
        Err(SpoolError::UnknownQueue(_))
    ));
}

/// A refusing queue's submissions fail with the operator's reason and leave nothing
/// behind; the refusal survives a restart; accept lets prints in again.
#[test]
fn a_refusing_queue_refuses_prints_with_the_reason_until_accepted() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(&fake, fast());
    assert!(spool.refuse("q", "  film jammed, call 1234 ").unwrap());
    assert!(!spool.refuse("q", "film jammed, call 1234").unwrap());
    let refused = spool.submit(h.job("x", "MED", 1), Box::new(|_| {}));
    match refused {
        Err(SpoolError::Refused { queue, reason }) => {
            assert_eq!(
                (queue.as_str(), reason.as_str()),
                ("q", "film jammed, call 1234")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.payloads(), 0);
    assert_eq!(spool.jobs(&JobFilter::default()).unwrap().len(), 0);
    drop(spool);

    let spool = h.open(&fake, fast());
    let control = spool.queue_controls().unwrap()["q"].clone();
    assert_eq!(control.refusing.as_deref(), Some("film jammed, call 1234"));
    assert!(control.since_ms > 0);
    assert!(
        spool
            .submit(h.job("y", "MED", 1), Box::new(|_| {}))
            .is_err()
    );
    assert!(spool.accept("q").unwrap());
    assert!(!spool.accept("q").unwrap());
    let (id, _) = submit(&spool, h.job("z", "MED", 1));
    wait_state(&spool, &id, State::Done);
    assert!(matches!(
        spool.refuse("nope", "x"),
        Err(SpoolError::UnknownQueue(_))
    ));
}

/// The history a printer job leaves, in order: a busy printer is a retry with its error;
/// a cancel names its reason.
#[test]
fn a_jobs_history_lists_each_step_in_order() {
    let h = Harness::new();
    let fake = Arc::new(Fake::printer());
    fake.busy.store(1, Ordering::SeqCst);
    let spool = h.open(&fake, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Done);
    assert_eq!(
        events(&spool, &id),
        [
            "received",
            "composed",
            "submitting",
            "retry (printer busy)",
            "submitted",
            "done"
        ]
    );
    let history = spool.history(&id).unwrap();
    assert!(history.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));

    spool.pause("q").unwrap();
    let (cancelled, _) = submit(&spool, h.job("b", "MED", 1));
    assert!(spool.cancel(&cancelled).unwrap());
    assert_eq!(
        events(&spool, &cancelled),
        ["received", "cancelled (cancelled by the operator)"]
    );
    assert!(matches!(
        spool.history("nope"),
        Err(SpoolError::UnknownJob(_))
    ));
}

/// Every committed change moves the counter the web console waits on; a read does not.
#[test]
fn changes_are_announced_after_each_commit_and_not_after_reads() {
    let h = Harness::new();
    let fake = Arc::new(Fake::default());
    let spool = h.open(&fake, fast());
    let mut changes = spool.changes();
    changes.mark_unchanged();
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    assert!(changes.has_changed().unwrap(), "the insert");
    wait_state(&spool, &id, State::Done);
    std::thread::sleep(Duration::from_millis(50));
    changes.mark_unchanged();
    spool.jobs(&JobFilter::default()).unwrap();
    spool.history(&id).unwrap();
    spool.queue_controls().unwrap();
    assert!(!changes.has_changed().unwrap(), "reads change nothing");
    spool.pause("q").unwrap();
    assert!(changes.has_changed().unwrap(), "a queue control");
}
