//! PACS destinations across a restart: stores cut short, commitments awaited, worklist
//! outages and destinations dropped from the configuration.

use super::*;

/// filmd dies after the PACS got the instances but before the store was recorded: at
/// the next start they are sent again, and the PACS still holds one copy.
#[test]
fn a_crash_during_a_store_sends_it_again_and_the_pacs_keeps_one_copy() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], false));
    pacs.hang.store(true, Ordering::SeqCst);
    let spool = h.open_pacs(&pacs, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("the PACS got the instances", || {
        !lock(&pacs.instances).is_empty()
    });
    drop(spool);
    pacs.hang.store(false, Ordering::SeqCst);
    let spool = h.open_pacs(&pacs, fast());
    wait_state(&spool, &id, State::Done);
    let requests = pacs.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[1].1, requests[1].2),
        (DestinationState::Pending, 2)
    );
    assert_eq!(lock(&pacs.instances).len(), 1, "one copy");
    assert_eq!(pacs.identified.load(Ordering::SeqCst), 1, "identity kept");
}

/// filmd stops while a commitment is awaited (the report may come while it is down):
/// at the next start, commitment is asked for again at once, not after the timeout.
#[test]
fn a_commitment_awaited_across_a_restart_is_asked_for_again_at_once() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], true));
    let slow = SpoolConfig {
        commit_timeout: Duration::from_secs(3600),
        ..fast()
    };
    let spool = h.open_pacs(&pacs, slow.clone());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Storing);
    wait_destination(&spool, &id, "PACS@a:104", DestinationState::Stored);
    drop(spool);
    let spool = h.open_pacs(&pacs, slow);
    wait_until("asked again", || pacs.requests().len() == 2);
    assert_eq!(pacs.requests()[1].1, DestinationState::Stored);
    assert!(
        !spool
            .commitment_report(&report("tx-PACS@a:104-1", &[]))
            .unwrap(),
        "the old transaction is no longer awaited"
    );
    assert!(
        spool
            .commitment_report(&report("tx-PACS@a:104-2", &[]))
            .unwrap()
    );
    wait_state(&spool, &id, State::Done);
    assert_eq!(lock(&pacs.instances).len(), 1);
}

/// The worklist is down: the job waits (its destinations say why), and is identified
/// and stored once it answers.
#[test]
fn an_identity_lookup_that_fails_is_tried_again() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], false));
    lock(&pacs.identities).push_back(Err(DeliveryError::Retryable(
        "worklist RIS@r:104: connection refused".into(),
    )));
    let spool = h.open_pacs(&pacs, fast());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_state(&spool, &id, State::Done);
    assert_eq!(pacs.identified.load(Ordering::SeqCst), 2);
    assert_eq!(
        destination(&spool, &id, "PACS@a:104").last_error.as_deref(),
        Some("identity: worklist RIS@r:104: connection refused")
    );
}

/// A destination dropped from the configuration while a job waited for it fails at the
/// next start: nothing would ever store there.
#[test]
fn a_destination_no_longer_configured_fails_its_jobs_at_the_start() {
    let h = Harness::new();
    let pacs = Arc::new(Pacs::archive(&["PACS@a:104"], false));
    pacs.answer(Err(DeliveryError::Retryable("down".into())));
    let mut config = fast();
    config.retry.initial_backoff = Duration::from_secs(3600);
    config.retry.max_backoff = Duration::from_secs(3600);
    let spool = h.open_pacs(&pacs, config.clone());
    let (id, _) = submit(&spool, h.job("a", "MED", 1));
    wait_until("tried once", || pacs.requests().len() == 1);
    wait_state(&spool, &id, State::Storing);
    drop(spool);
    let other = Arc::new(Pacs::archive(&["OTHER@b:104"], false));
    let spool = h.open_pacs(&other, config);
    let row = wait_state(&spool, &id, State::Failed);
    assert_eq!(
        row.last_error.as_deref(),
        Some("PACS PACS@a:104: queue q no longer stores to it")
    );
    assert!(other.requests().is_empty());
}
