//! Nothing is lost: once filmd answers success to a print N-ACTION, the film is on disk and
//! survives a crash; after a restart it is delivered once, not twice.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::scu::*;
use filmd::spool::{JobFilter, JobStore, State};
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![a_film_acknowledged_before_sigkill_is_delivered_once_after_restart,]
}

fn a_film_acknowledged_before_sigkill_is_delivered_once_after_restart() {
    let mut first = Server::start();
    let data_dir = first.data_dir.clone();
    let log = first.log.clone();
    let mut scu = Scu::connect(first.port, &[GRAY_META]);
    // Large 14×17 films keep the spool workers busy, so the kill lands before delivery.
    let mut acknowledged = 0;
    for i in 0..4u16 {
        let pixels: Vec<u16> = (0..512 * 512)
            .map(|p| ((p * 7 + i as usize) % 4096) as u16)
            .collect();
        let img = gray_image(512, 512, 12, "MONOCHROME2", &pixels);
        let mut spec = FilmSpec::gray(
            "STANDARD\\2,2",
            vec![
                Some(img.clone()),
                Some(img.clone()),
                Some(img.clone()),
                Some(img),
            ],
        );
        spec.size = "14INX17IN";
        let (status, _) = print_film(&mut scu, &spec);
        assert_eq!(status, 0);
        acknowledged += 1;
    }
    // SIGKILL right after the last acknowledgement.
    first.kill();
    let delivered_before = first.pdfs().len();
    let spooled = job_files(&data_dir);
    // Every acknowledged job has its committed row, whatever state it reached.
    let store = JobStore::open(&data_dir.join("spool/jobs.sqlite")).unwrap();
    let rows = store.list(&JobFilter::default()).unwrap();
    let unfinished = store.unfinished().unwrap();
    drop(store);
    eprintln!(
        "at SIGKILL: {delivered_before} delivered, {spooled} spooled, {} unfinished",
        unfinished.len()
    );
    assert_eq!(
        rows.len(),
        acknowledged,
        "one committed job per acknowledgement"
    );
    assert!(
        unfinished.len() <= spooled,
        "every unfinished job has its payload"
    );
    assert!(
        delivered_before + spooled >= acknowledged,
        "every acknowledged film is either delivered or durably spooled"
    );
    drop(scu);

    let second = Server::restart_on(&data_dir, &log);
    let pdfs = second.wait_pdfs(acknowledged);
    std::thread::sleep(Duration::from_millis(500));
    let pdfs_later = second.pdfs();
    assert_eq!(
        pdfs_later.len(),
        acknowledged,
        "delivered exactly once: {pdfs:?}"
    );
    for p in &pdfs_later {
        assert_eq!(common::pdf::pages(p).len(), 1);
    }
    assert_eq!(
        job_files(&data_dir),
        0,
        "the spool is empty once everything is delivered"
    );
    drop(second);
    let store = JobStore::open(&data_dir.join("spool/jobs.sqlite")).unwrap();
    let rows = store.list(&JobFilter::default()).unwrap();
    assert_eq!(rows.len(), acknowledged);
    assert!(
        rows.iter().all(|r| r.state == State::Done),
        "all done: {rows:?}"
    );
    drop(first);
}

/// Payload files in the spool.
fn job_files(data_dir: &std::path::Path) -> usize {
    std::fs::read_dir(data_dir.join("spool/jobs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "job"))
        .count()
}
