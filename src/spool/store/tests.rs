//! Job table tests: state machine, ordering, limits, sweep, persistence.

use super::schema::MIGRATIONS;
use super::*;
use crate::spool::DestinationState;

pub(super) fn job(id: &str, queue: &str, priority: Priority) -> NewJob {
    NewJob {
        id: id.into(),
        uid: format!("2.25.{id}"),
        queue: queue.into(),
        priority,
        copies: 1,
        films: 1,
        label: String::new(),
        owner: String::new(),
        calling_ae: "SCU".into(),
        payload_bytes: 10,
        film_params: Vec::new(),
        destinations: Vec::new(),
    }
}

fn store() -> (tempfile::TempDir, JobStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = JobStore::open(&dir.path().join("jobs.sqlite")).unwrap();
    (dir, s)
}

#[test]
fn wal_and_full_synchronous_are_set_and_schema_versioned() {
    let (dir, s) = store();
    assert_eq!(s.pragmas().unwrap(), ("wal".to_string(), 2));
    drop(s);
    let conn = Connection::open(dir.path().join("jobs.sqlite")).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = JobStore::open(&dir.path().join("jobs.sqlite"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn transitions_are_compare_and_set() {
    let (_d, s) = store();
    s.insert(&job("a", "q", Priority::Med), 1, None).unwrap();
    assert!(
        !s.transition("a", &[State::Composed], State::Done, None, 2)
            .unwrap()
    );
    assert_eq!(s.get("a").unwrap().unwrap().state, State::Received);
    assert!(
        s.set_composed("a", Some(("/x.pdf", "application/pdf")), "ok", 3)
            .unwrap()
    );
    assert!(!s.set_composed("a", None, "again", 4).unwrap());
    assert_eq!(s.begin_submit("a", 5).unwrap(), Some(1));
    assert_eq!(s.begin_submit("a", 6).unwrap(), None);
    assert!(s.set_submitted("a", "42", 7).unwrap());
    assert!(!s.set_submitted("a", "43", 8).unwrap());
    assert!(
        s.transition("a", &[State::Submitted], State::Done, None, 9)
            .unwrap()
    );
    let row = s.get("a").unwrap().unwrap();
    assert_eq!(row.state, State::Done);
    assert_eq!(row.remote_id.as_deref(), Some("42"));
    assert_eq!(row.document.as_deref(), Some("/x.pdf"));
    assert_eq!(row.finished_ms, Some(9));
    assert_eq!(row.attempts, 1);
    assert!(
        s.cancel("a", "late", 10).unwrap().is_none(),
        "finished jobs stay"
    );
    assert!(s.get("nope").unwrap().is_none());
}

#[test]
fn ready_jobs_come_high_before_med_before_low_then_by_arrival() {
    let (_d, s) = store();
    s.insert(&job("l1", "q", Priority::Low), 1, None).unwrap();
    s.insert(&job("m1", "q", Priority::Med), 2, None).unwrap();
    s.insert(&job("h1", "q", Priority::High), 3, None).unwrap();
    s.insert(&job("m2", "q", Priority::Med), 4, None).unwrap();
    s.insert(&job("h2", "other", Priority::High), 5, None)
        .unwrap();
    s.insert(&job("h3", "q", Priority::High), 6, None).unwrap();
    let ids = |rows: Vec<JobRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let q = s.next_ready(&[State::Received], Some("q"), 10, 10).unwrap();
    assert_eq!(ids(q), ["h1", "h3", "m1", "m2", "l1"]);
    let all = s.next_ready(&[State::Received], None, 10, 3).unwrap();
    assert_eq!(ids(all), ["h1", "h2", "h3"]);
    // A job waiting for a retry is not ready before its time.
    s.record_failure("h1", "busy", 100, 10).unwrap();
    let q = s.next_ready(&[State::Received], Some("q"), 99, 1).unwrap();
    assert_eq!(ids(q), ["h3"]);
    assert_eq!(s.next_due(&[State::Received], Some("q")).unwrap(), Some(0));
    let q = s.next_ready(&[State::Received], Some("q"), 100, 1).unwrap();
    assert_eq!(ids(q), ["h1"]);
    assert_eq!(
        s.get("h1").unwrap().unwrap().last_error.as_deref(),
        Some("busy")
    );
    assert!(
        s.next_ready(&[State::Composed], None, 10, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn queue_limit_refuses_without_inserting() {
    let (_d, s) = store();
    s.insert(&job("a", "q", Priority::Med), 1, Some(2)).unwrap();
    s.insert(&job("b", "q", Priority::Med), 1, Some(2)).unwrap();
    let err = s
        .insert(&job("c", "q", Priority::Med), 1, Some(2))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::QueueFull { limit: 2, .. }),
        "{err}"
    );
    assert!(s.get("c").unwrap().is_none());
    // Another queue has its own count; a finished job no longer counts.
    s.insert(&job("d", "r", Priority::Med), 1, Some(2)).unwrap();
    s.transition("a", &[State::Received], State::Failed, Some("x"), 2)
        .unwrap();
    s.insert(&job("c", "q", Priority::Med), 1, Some(2)).unwrap();
    assert_eq!(s.limited_in_queue("q").unwrap(), 2);
    assert_eq!(s.backlog().unwrap(), 3);
}

#[test]
fn counts_list_and_cancel() {
    let (_d, s) = store();
    for (i, q) in ["q", "q", "r"].iter().enumerate() {
        s.insert(&job(&i.to_string(), q, Priority::Med), i as i64, None)
            .unwrap();
    }
    let before = s.cancel("1", "by admin", 5).unwrap().unwrap();
    assert_eq!(before.state, State::Received);
    let c = s.counts().unwrap();
    assert_eq!(c["q"][&State::Received], 1);
    assert_eq!(c["q"][&State::Cancelled], 1);
    assert_eq!(c["r"][&State::Received], 1);
    let cancelled = s
        .list(&JobFilter {
            state: Some(State::Cancelled),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].last_error.as_deref(), Some("by admin"));
    assert_eq!(cancelled[0].finished_ms, Some(5));
    let q: Vec<String> = s
        .list(&JobFilter {
            queue: Some("q".into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(q, ["1", "0"], "newest first");
}

#[test]
fn sweep_removes_only_expired_finished_jobs_and_calls_back_first() {
    let (_d, s) = store();
    for id in ["old", "new", "open", "stuck"] {
        s.insert(&job(id, "q", Priority::Med), 0, None).unwrap();
    }
    s.transition("old", &[State::Received], State::Done, None, 100)
        .unwrap();
    s.transition("new", &[State::Received], State::Failed, Some("e"), 500)
        .unwrap();
    s.transition("stuck", &[State::Received], State::Cancelled, None, 100)
        .unwrap();
    let mut seen = Vec::new();
    let n = s
        .sweep(200, |row| {
            seen.push(row.id.clone());
            if row.id == "stuck" {
                Err(std::io::Error::other("busy"))
            } else {
                Ok(())
            }
        })
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(seen, ["old", "stuck"]);
    assert_eq!(
        s.ids().unwrap(),
        ["new", "open", "stuck"].map(String::from).into()
    );
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    {
        let s = JobStore::open(&path).unwrap();
        s.insert(&job("a", "q", Priority::High), 7, None).unwrap();
        s.set_composed("a", None, "n", 8).unwrap();
    }
    let s = JobStore::open(&path).unwrap();
    let row = s.get("a").unwrap().unwrap();
    assert_eq!(
        (row.state, row.priority, row.created_ms),
        (State::Composed, Priority::High, 7)
    );
    assert_eq!(s.unfinished().unwrap().len(), 1);
    // AUTOINCREMENT: arrival order keeps growing across restarts.
    let seq = s.insert(&job("b", "q", Priority::Low), 9, None).unwrap();
    assert!(seq > row.seq);
}

/// A spool written by the previous release (schema 1, no `retried_as`) opens, keeps its
/// jobs and can record retries.
#[test]
fn a_version_1_database_is_migrated_with_its_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO jobs (id, uid, queue, priority, state, created_ms, updated_ms,
                copies, films, label, owner, calling_ae, payload_bytes)
             VALUES ('old', '2.25.1', 'q', 1, 'failed', 1, 2, 1, 1, 'L', '', 'SCU', 10)",
            [],
        )
        .unwrap();
    }
    let s = JobStore::open(&path).unwrap();
    let row = s.get("old").unwrap().unwrap();
    assert_eq!(
        (row.state, row.retried_as, row.held),
        (State::Failed, None, false)
    );
    let events: Vec<(i64, String)> = s
        .history("old")
        .unwrap()
        .into_iter()
        .map(|e| (e.at_ms, e.event))
        .collect();
    assert_eq!(
        events,
        [(1, "received".to_string()), (2, "failed".to_string())],
        "v3 gives jobs from before it the history their row tells"
    );
    assert!(matches!(
        s.claim_retry("old", false, 3).unwrap(),
        RetryClaim::Claimed(_)
    ));
    assert!(s.retried("old", "new", 4).unwrap());
    assert_eq!(
        s.get("old").unwrap().unwrap().retried_as.as_deref(),
        Some("new")
    );
    drop(s);
    let conn = Connection::open(&path).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

#[test]
fn jobs_are_filtered_by_calling_ae_counted_and_paged_newest_first() {
    let (_d, s) = store();
    for (n, ae) in ["CT1", "MR1", "CT1", "CT1"].into_iter().enumerate() {
        let mut j = job(&format!("j{n}"), "q", Priority::Med);
        j.calling_ae = ae.into();
        s.insert(&j, n as i64, None).unwrap();
    }
    let filter = JobFilter {
        calling_ae: Some("CT1 ".into()),
        limit: 2,
        ..JobFilter::default()
    };
    let ids =
        |f: &JobFilter| -> Vec<String> { s.list(f).unwrap().into_iter().map(|r| r.id).collect() };
    assert_eq!(ids(&filter), ["j3", "j2"]);
    assert_eq!(
        ids(&JobFilter {
            offset: 2,
            ..filter.clone()
        }),
        ["j0"]
    );
    assert_eq!(s.count(&filter).unwrap(), 3);
    assert_eq!(s.count(&JobFilter::default()).unwrap(), 4);
}

#[test]
fn activity_counts_films_times_copies_done_since_and_the_last_error() {
    let (_d, s) = store();
    let mut big = job("big", "q", Priority::Med);
    (big.films, big.copies) = (2, 3);
    s.insert(&big, 1, None).unwrap();
    s.insert(&job("old", "q", Priority::Med), 1, None).unwrap();
    s.insert(&job("bad", "p", Priority::Med), 1, None).unwrap();
    for (id, at) in [("big", 100), ("old", 10)] {
        assert!(s.set_composed(id, None, "", at).unwrap());
        assert!(
            s.transition(id, &[State::Composed], State::Done, None, at)
                .unwrap()
        );
    }
    s.record_failure("bad", "printer busy", 0, 50).unwrap();
    s.transition(
        "bad",
        &[State::Received],
        State::Failed,
        Some("composition failed"),
        60,
    )
    .unwrap();
    let a = s.activity(50).unwrap();
    assert_eq!(
        a["q"].films_printed, 6,
        "2 films x 3 copies; the old job not"
    );
    assert_eq!(a["q"].last_error, None);
    let last = a["p"].last_error.clone().unwrap();
    assert_eq!(
        (last.at_ms, last.job_id.as_str(), last.message.as_str()),
        (60, "bad", "composition failed")
    );
}

#[test]
fn a_job_history_goes_with_its_row() {
    let (_d, s) = store();
    s.insert(&job("a", "q", Priority::Med), 1, None).unwrap();
    s.cancel("a", "no", 2).unwrap();
    assert_eq!(s.history("a").unwrap().len(), 2);
    assert_eq!(s.sweep(5, |_| Ok(())).unwrap(), 1);
    assert!(s.history("a").unwrap().is_empty());
}

/// A spool of schema 3 is rebuilt for `storing`: its jobs keep their rows, arrival order
/// and history, and a job removed before the migration never lends its number again.
#[test]
fn a_version_3_database_is_rebuilt_with_its_jobs_history_and_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    {
        let mut conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..3] {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.commit().unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        for (id, state) in [("a", "failed"), ("b", "composed"), ("gone", "done")] {
            conn.execute(
                "INSERT INTO jobs (id, uid, queue, priority, state, created_ms, updated_ms,
                    copies, films, label, owner, calling_ae, payload_bytes, held, film_params)
                 VALUES (?1, '2.25.1', 'q', 1, ?2, 1, 2, 1, 1, 'L', '', 'SCU', 10,
                    ?1 = 'b', '[]')",
                [id, state],
            )
            .unwrap();
        }
        conn.execute("DELETE FROM jobs WHERE id = 'gone'", [])
            .unwrap();
    }
    let s = JobStore::open(&path).unwrap();
    let a = s.get("a").unwrap().unwrap();
    let b = s.get("b").unwrap().unwrap();
    assert_eq!((a.state, a.seq, a.identity), (State::Failed, 1, None));
    assert_eq!((b.state, b.seq, b.held), (State::Composed, 2, true));
    assert_eq!(s.history("b").unwrap().len(), 1, "its received event");
    let seq = s.insert(&job("c", "q", Priority::Med), 3, None).unwrap();
    assert_eq!(seq, 4, "number 3 was the removed job's");
    assert!(s.set_composed("c", None, "", 4).unwrap());
    assert_eq!(
        s.conclude("c", &[State::Composed], 5).unwrap(),
        Some((State::Done, None)),
        "no destination: done at once"
    );
}

/// Ending a job whose printer part is over looks at its destinations: storing until
/// each is done (stored without commitment, or committed), failed with the first
/// failed one's reason; the destinations and their history go with the job's row.
#[test]
fn a_job_is_done_only_when_every_destination_is() {
    let (_d, s) = store();
    let mut j = job("a", "q", Priority::Med);
    j.destinations = vec!["A@a:1".into(), "B@b:2".into()];
    s.insert(&j, 1, None).unwrap();
    assert!(s.set_composed("a", None, "", 2).unwrap());
    let storing = Some((State::Storing, None));
    assert_eq!(s.conclude("a", &[State::Composed], 3).unwrap(), storing);
    assert_eq!(s.conclude("a", &[State::Composed], 3).unwrap(), None);
    let stored = |uid| DestinationUpdate::Stored {
        transaction_uid: uid,
        next_attempt_ms: 0,
    };
    let fresh = Seen {
        state: DestinationState::Pending,
        transaction_uid: None,
        attempts: 0,
    };
    assert!(
        s.record_destination("a", "A@a:1", &fresh, stored(None), 4)
            .unwrap()
    );
    assert!(
        s.record_destination("a", "B@b:2", &fresh, stored(Some("1.2")), 4)
            .unwrap()
    );
    assert!(
        !s.record_destination("a", "C@c:3", &fresh, stored(None), 4)
            .unwrap()
    );
    assert_eq!(s.conclude("a", &[State::Storing], 5).unwrap(), storing);
    let back = |n| 100 + i64::from(n);
    assert_eq!(s.commitment_report("9.9", None, back, 6).unwrap(), None);
    assert_eq!(
        s.commitment_report("1.2", Some("1 not committed"), back, 6)
            .unwrap(),
        Some(("a".into(), "B@b:2".into()))
    );
    let b = &s.destinations("a").unwrap()[1];
    assert_eq!(
        (b.state, b.next_attempt_ms, b.transaction_uid.as_deref()),
        (DestinationState::Pending, 100, None)
    );
    let begun = Seen {
        state: DestinationState::Pending,
        transaction_uid: None,
        attempts: 1,
    };
    assert_eq!(s.begin_store("a", "B@b:2", 7).unwrap(), Some(begun.clone()));
    assert_eq!(
        s.begin_store("a", "A@a:1", 7).unwrap(),
        None,
        "stored: not due"
    );
    assert!(
        s.record_destination("a", "B@b:2", &begun, DestinationUpdate::Committed, 8)
            .unwrap()
    );
    assert_eq!(
        s.conclude("a", &[State::Storing], 9).unwrap(),
        Some((State::Done, None))
    );
    assert_eq!(s.get("a").unwrap().unwrap().finished_ms, Some(9));

    let mut f = job("f", "q", Priority::Med);
    f.destinations = vec!["A@a:1".into()];
    s.insert(&f, 10, None).unwrap();
    let failed = DestinationUpdate::Failed { error: "refused" };
    assert!(
        s.record_destination("f", "A@a:1", &fresh, failed, 11)
            .unwrap()
    );
    assert!(s.set_composed("f", None, "", 12).unwrap());
    let why = Some("PACS A@a:1: refused".to_string());
    assert_eq!(
        s.conclude("f", &[State::Composed], 13).unwrap(),
        Some((State::Failed, why))
    );
    assert_eq!(s.sweep(20, |_| Ok(())).unwrap(), 2);
    assert!(s.destinations("a").unwrap().is_empty());
    assert!(
        s.destinations_of(&["a".into(), "f".into()])
            .unwrap()
            .is_empty()
    );
}

/// A store's outcome is recorded only while its destination is as the store saw it
/// when it began: not over a commitment report recorded meanwhile, not after another
/// store began, not for a job that is over.
#[test]
fn a_late_store_outcome_never_overwrites_a_newer_state() {
    let (_d, s) = store();
    let mut j = job("a", "q", Priority::Med);
    j.destinations = vec!["A@a:1".into()];
    s.insert(&j, 1, None).unwrap();
    assert!(s.set_composed("a", None, "", 2).unwrap());
    let stored = |uid| DestinationUpdate::Stored {
        transaction_uid: Some(uid),
        next_attempt_ms: 0,
    };
    let first = s.begin_store("a", "A@a:1", 3).unwrap().unwrap();
    assert!(
        s.record_destination("a", "A@a:1", &first, stored("X"), 4)
            .unwrap()
    );
    // Commitment asked for again, under Y; the report for X comes meanwhile.
    let again = s.begin_store("a", "A@a:1", 5).unwrap().unwrap();
    assert_eq!(
        again,
        Seen {
            state: DestinationState::Stored,
            transaction_uid: Some("X".into()),
            attempts: 2
        }
    );
    assert_eq!(
        s.commitment_report("X", None, |_| 0, 6).unwrap(),
        Some(("a".into(), "A@a:1".into()))
    );
    assert_eq!(
        s.conclude("a", &[State::Composed], 7).unwrap(),
        Some((State::Done, None))
    );
    assert!(
        !s.record_destination("a", "A@a:1", &again, stored("Y"), 8)
            .unwrap()
    );
    let retry = DestinationUpdate::Retry {
        error: "timeout",
        next_attempt_ms: 9,
    };
    assert!(
        !s.record_destination("a", "A@a:1", &again, retry, 8)
            .unwrap()
    );
    let d = &s.destinations("a").unwrap()[0];
    assert_eq!(
        (
            d.state,
            d.transaction_uid.as_deref(),
            d.last_error.as_deref()
        ),
        (DestinationState::Committed, None, None)
    );

    let mut j = job("b", "q", Priority::Med);
    j.destinations = vec!["A@a:1".into()];
    s.insert(&j, 10, None).unwrap();
    assert!(s.set_composed("b", None, "", 11).unwrap());
    let stale = s.begin_store("b", "A@a:1", 12).unwrap().unwrap();
    let newer = s.begin_store("b", "A@a:1", 13).unwrap().unwrap();
    assert!(
        !s.record_destination("b", "A@a:1", &stale, stored("Z"), 14)
            .unwrap(),
        "another store began since"
    );
    assert!(
        s.transition("b", &[State::Composed], State::Cancelled, None, 15)
            .unwrap()
    );
    assert!(
        !s.record_destination("b", "A@a:1", &newer, stored("Z"), 16)
            .unwrap(),
        "the job is over"
    );
    let d = &s.destinations("b").unwrap()[0];
    assert_eq!(
        (d.state, d.transaction_uid.as_deref(), d.attempts),
        (DestinationState::Pending, None, 2)
    );
}

/// A job whose destinations are not done yet (`storing`) does not count against its
/// queue's limit.
#[test]
fn storing_jobs_do_not_count_against_the_queue_limit() {
    let (_d, s) = store();
    let mut j = job("a", "q", Priority::Med);
    j.destinations = vec!["A@a:1".into()];
    s.insert(&j, 1, Some(1)).unwrap();
    assert!(matches!(
        s.insert(&job("b", "q", Priority::Med), 2, Some(1)),
        Err(StoreError::QueueFull { limit: 1, .. })
    ));
    assert!(s.set_composed("a", None, "", 3).unwrap());
    assert_eq!(
        s.conclude("a", &[State::Composed], 4).unwrap(),
        Some((State::Storing, None))
    );
    assert_eq!(s.limited_in_queue("q").unwrap(), 0);
    s.insert(&job("b", "q", Priority::Med), 5, Some(1)).unwrap();
    assert_eq!(s.backlog().unwrap(), 2, "both unfinished");
}
