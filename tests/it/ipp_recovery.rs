//! Recovery with real IPP printers: filmd delivering to ippeveprinter, directly
//! or through a cupsd queue, while the printer stops, disappears and comes back, or filmd
//! itself is killed. What a modality sees is checked at the DICOM side: Printer
//! N-EVENT-REPORTs and N-GET (PS3.4 H.4.6), Print Job N-EVENT-REPORTs (PS3.4 H.4.8.1.1);
//! what the printer received is checked in the documents ippeveprinter keeps (`-k`), and
//! what filmd recorded in its spool database.
//!
//! Every peer runs on 127.0.0.1 on a free port and is stopped by PID when dropped. In CI a
//! missing peer fails the test (`require`).

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::ipp_peers::{Cupsd, IppEve, IppEveOptions};
use common::scu::*;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::print::uids;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Ippeveprinter, Cupsd)]
        paused_cups_queue_is_reported_and_the_held_film_prints_once_after_cupsenable,
        #[needs(Ippeveprinter)]
        unreachable_printer_reports_printer_down_and_prints_once_when_back,
        #[needs(Ippeveprinter)]
        jobs_acknowledged_before_sigkill_reach_the_printer_exactly_once,
        #[needs(Ippeveprinter, Pynetdicom)]
        print_job_events_follow_the_ipp_job_at_a_pynetdicom_scu,
    ]
}

/// ippeveprinter "prints" a job in about 10 to 14 s; a few jobs in a row, plus filmd's
/// poll interval and submission backoff, fit well within this.
const JOB_WAIT: Duration = Duration::from_secs(120);

/// One queue delivering to `uri` (and keeping its PDF archive), polled every second.
fn ipp_config(uri: &str) -> String {
    format!(
        "[server]\nae_title = \"FILMD\"\n\n\
         [[queue]]\nname = \"default\"\nipp = \"{uri}\"\nipp_poll_secs = 1\n"
    )
}

/// A small 8×10 in grayscale film: one 64×64 ramp.
fn film(label: &'static str) -> FilmSpec<'static> {
    let pixels: Vec<u16> = (0..64 * 64).map(|p| (p % 64 * 4) as u16).collect();
    let mut spec = FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(gray_image(64, 64, 8, "MONOCHROME2", &pixels))],
    );
    spec.label = label;
    spec
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// Printer Status and Printer Status Info from an N-GET of the Printer on a new
/// association (Basic Grayscale Print Management Meta).
fn printer_n_get(port: u16) -> (String, String) {
    let mut scu = Scu::connect(port, &[GRAY_META]);
    let r = scu.n_get(GRAY_META, uids::PRINTER, uids::PRINTER_INSTANCE, &[]);
    assert_eq!(r.status(), 0, "Printer N-GET");
    let data = r.data.expect("Printer N-GET data set");
    let status = (
        text(&data, tags::PRINTER_STATUS).unwrap_or_default(),
        text(&data, tags::PRINTER_STATUS_INFO).unwrap_or_default(),
    );
    scu.release();
    status
}

/// Polls `f` every 200 ms until it gives a value or `timeout` passes (then panics with
/// `what` and `context()`).
fn wait_for<T>(
    timeout: Duration,
    what: &str,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("{what}: not within {timeout:?}\n{}", context());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Printer N-EVENT-REPORT as (event type, Printer Status Info, Printer Name).
#[derive(Debug, Clone, PartialEq)]
struct PrinterEvent {
    event_type: u16,
    info: Option<String>,
    name: Option<String>,
}

fn printer_events(scu: &Scu) -> Vec<PrinterEvent> {
    scu.events
        .iter()
        .zip(&scu.event_data)
        .filter(|(c, _)| c.affected_sop_class_uid.as_deref() == Some(uids::PRINTER))
        .map(|(c, d)| PrinterEvent {
            event_type: c.event_type_id.unwrap_or(0),
            info: d.as_ref().and_then(|d| text(d, tags::PRINTER_STATUS_INFO)),
            name: d.as_ref().and_then(|d| text(d, tags::PRINTER_NAME)),
        })
        .collect()
}

/// Waits (answering them) for events until a Printer event after the first `from` has
/// `event_type`; returns its index among the Printer events.
fn wait_printer_event(
    scu: &mut Scu,
    from: usize,
    event_type: u16,
    log: &dyn Fn() -> String,
) -> usize {
    let start = Instant::now();
    loop {
        if let Some(i) = printer_events(scu)
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, e)| e.event_type == event_type)
            .map(|(i, _)| i)
        {
            return i;
        }
        if start.elapsed() > Duration::from_secs(60) {
            panic!(
                "no Printer event of type {event_type}: {:?}\n{}",
                printer_events(scu),
                log()
            );
        }
        let n = scu.events.len() + 1;
        if let Err(e) = scu.0.wait_events(n) {
            panic!(
                "waiting for a Printer event of type {event_type}: {e}; so far {:?}\n{}",
                printer_events(scu),
                log()
            );
        }
    }
}

/// The spool's jobs as (id, state, remote id), read from DATA/spool/jobs.sqlite directly.
fn spool_rows(data_dir: &Path) -> Vec<(String, String, Option<String>)> {
    let db = rusqlite::Connection::open_with_flags(
        data_dir.join("spool/jobs.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open jobs.sqlite");
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = db
        .prepare("SELECT id, state, remote_id FROM jobs ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Kept documents at the printer whose file name carries filmd job `id`'s job name.
fn kept_for(eve: &IppEve, id: &str) -> Vec<PathBuf> {
    let name = filmd::spool::job_name(id);
    eve.kept_documents()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&name))
        })
        .collect()
}

/// Waits until every job of the spool is `done`; returns the rows.
fn wait_all_done(
    server: &Server,
    n: usize,
    context: &dyn Fn() -> String,
) -> Vec<(String, String, Option<String>)> {
    wait_for(
        JOB_WAIT,
        &format!("{n} spool jobs done"),
        || {
            format!(
                "rows {:?}\n{}\nfilmd log:\n{}",
                spool_rows(&server.data_dir),
                context(),
                tail(&server.log_text())
            )
        },
        || {
            let rows = spool_rows(&server.data_dir);
            (rows.len() == n && rows.iter().all(|r| r.1 == "done")).then_some(rows)
        },
    )
}

/// The last 80 lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

/// filmd → cupsd queue → ippeveprinter. The queue is paused (`cupsdisable`) with a
/// modality's association open: the poller reads printer-state stopped, reason `paused`,
/// which the mapping (outputs::ipp::status: `paused` FAILURE, PRINTER OFFLINE) turns
/// into a Printer FAILURE event (type 3) with Printer Status Info PRINTER OFFLINE, and
/// N-GET says the same. A film printed meanwhile is held by cupsd; `cupsenable` brings a
/// NORMAL event (type 1) and the film prints, once.
fn paused_cups_queue_is_reported_and_the_held_film_prints_once_after_cupsenable() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let cupsd = Cupsd::start(&eve.uri());
    let server = Server::start_with(&[], Some(&ipp_config(&cupsd.queue_uri())));
    let context = || {
        format!(
            "cupsd error_log (tail):\n{}\nippeveprinter log (tail):\n{}\nfilmd log (tail):\n{}",
            tail(&cupsd.error_log()),
            tail(&eve.log()),
            tail(&server.log_text())
        )
    };
    // The poller has read the idle queue: NORMAL.
    wait_for(
        Duration::from_secs(20),
        "Printer NORMAL at start",
        context,
        || (printer_n_get(server.port) == ("NORMAL".into(), "NORMAL".into())).then_some(()),
    );
    let mut watcher = Scu::connect(server.port, &[GRAY_META]);

    cupsd.disable();
    let (status, _) = print_film(&mut watcher, &film("paused queue"));
    assert_eq!(status, 0, "N-ACTION while the queue is paused");
    let failure = wait_printer_event(&mut watcher, 0, 3, &context);
    let events = printer_events(&watcher);
    assert_eq!(
        events[..=failure]
            .iter()
            .map(|e| e.event_type)
            .collect::<Vec<_>>(),
        vec![3],
        "the first Printer event after cupsdisable is FAILURE: {events:?}"
    );
    assert_eq!(
        events[failure].info.as_deref(),
        Some("PRINTER OFFLINE"),
        "{events:?}"
    );
    assert_eq!(
        events[failure].name.as_deref(),
        Some("filmd default"),
        "Printer Name: {events:?}"
    );
    assert_eq!(
        printer_n_get(server.port),
        ("FAILURE".into(), "PRINTER OFFLINE".into()),
        "N-GET on a second association while paused"
    );
    // Held at cupsd: nothing reaches the printer while the queue is paused.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        eve.kept_documents().is_empty(),
        "printed while paused: {:?}",
        eve.kept_documents()
    );
    let rows = spool_rows(&server.data_dir);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "submitted", "held at cupsd: {rows:?}");

    cupsd.enable();
    let normal = wait_printer_event(&mut watcher, failure + 1, 1, &context);
    let events = printer_events(&watcher);
    for e in &events[failure + 1..normal] {
        // A transient reason while cupsd reconnects (e.g. connecting-to-device) may
        // come in between; never another FAILURE.
        assert_eq!(e.event_type, 2, "between FAILURE and NORMAL: {events:?}");
    }
    assert_eq!(
        events[normal].info, None,
        "NORMAL carries no data: {events:?}"
    );

    let rows = wait_all_done(&server, 1, &context);
    let id = &rows[0].0;
    let kept = wait_for(JOB_WAIT, "the document at the printer", context, || {
        let k = kept_for(&eve, id);
        (!k.is_empty()).then_some(k)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        eve.kept_documents(),
        kept,
        "exactly one document at the printer"
    );
    assert_eq!(
        printer_n_get(server.port),
        ("NORMAL".into(), "NORMAL".into())
    );
    watcher.release();
}

/// filmd → ippeveprinter, which is stopped before the film is printed: the N-ACTION still
/// succeeds (the film is spooled), Printer N-GET says FAILURE / PRINTER DOWN while the
/// printer cannot be reached; once it is back on the same port the film prints once and
/// the status is NORMAL again.
fn unreachable_printer_reports_printer_down_and_prints_once_when_back() {
    let mut eve = IppEve::start(IppEveOptions::pdf());
    let server = Server::start_with(&[], Some(&ipp_config(&eve.uri())));
    let context = || {
        format!(
            "ippeveprinter log (tail):\n{}\nfilmd log (tail):\n{}",
            tail(&eve.log()),
            tail(&server.log_text())
        )
    };
    wait_for(
        Duration::from_secs(20),
        "Printer NORMAL at start",
        context,
        || (printer_n_get(server.port) == ("NORMAL".into(), "NORMAL".into())).then_some(()),
    );
    let mut watcher = Scu::connect(server.port, &[GRAY_META]);
    eve.stop();
    let context = || {
        format!(
            "ippeveprinter log (tail):\n{}\nfilmd log (tail):\n{}",
            tail(&eve.log()),
            tail(&server.log_text())
        )
    };
    let down = wait_printer_event(&mut watcher, 0, 3, &context);
    let events = printer_events(&watcher);
    assert_eq!(
        events[down].info.as_deref(),
        Some("PRINTER DOWN"),
        "{events:?}"
    );

    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let (status, _) = print_film(&mut scu, &film("printer away"));
    assert_eq!(status, 0, "N-ACTION with the printer unreachable");
    scu.release();
    assert_eq!(
        printer_n_get(server.port),
        ("FAILURE".into(), "PRINTER DOWN".into())
    );
    // A few submission attempts fail meanwhile.
    std::thread::sleep(Duration::from_secs(4));
    let rows = spool_rows(&server.data_dir);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].1 == "submitting" || rows[0].1 == "composed",
        "waiting for the printer, not failed: {rows:?}"
    );
    assert!(eve.kept_documents().is_empty());

    eve.restart();
    let context = || {
        format!(
            "ippeveprinter log (tail):\n{}\nfilmd log (tail):\n{}",
            tail(&eve.log()),
            tail(&server.log_text())
        )
    };
    wait_printer_event(&mut watcher, down + 1, 1, &context);
    let rows = wait_all_done(&server, 1, &context);
    let kept = kept_for(&eve, &rows[0].0);
    assert_eq!(kept.len(), 1, "{:?}", eve.kept_documents());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(eve.kept_documents(), kept, "exactly one document");
    assert_eq!(
        printer_n_get(server.port),
        ("NORMAL".into(), "NORMAL".into())
    );
    watcher.release();
}

/// Three films on three film boxes of one session, each acknowledged (N-ACTION success);
/// filmd is SIGKILLed right after the third acknowledgement and restarted on the same
/// data directory and configuration. Each acknowledged job reaches the printer exactly
/// once (a job caught between Print-Job and the commit of its printer job ID is found by
/// its job name, `filmd-<id>`, and adopted) and ends `done` in jobs.sqlite.
fn jobs_acknowledged_before_sigkill_reach_the_printer_exactly_once() {
    // Default formats: PWG raster (and URF) only, so filmd renders raster at submission.
    let eve = IppEve::start(IppEveOptions::default());
    let mut first = Server::start_with(&[], Some(&ipp_config(&eve.uri())));
    let config = first.config_path().expect("config file");
    let data_dir = first.data_dir.clone();
    let log = first.log.clone();

    let mut scu = Scu::connect(first.port, &[GRAY_META]);
    let session = filmd::print::new_uid();
    let r = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_SESSION,
        Some(&session),
        &film_session(1, "sigkill"),
    );
    assert_eq!(r.status(), 0, "film session N-CREATE");
    let spec = film("sigkill");
    for n in 1..=3 {
        let fb = scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_BOX,
            None,
            &film_box(&session, spec.format, spec.size, spec.orientation, &[]),
        );
        assert_eq!(fb.status(), 0, "film box {n} N-CREATE");
        let fb_uid = fb.command.affected_sop_instance_uid.clone().unwrap();
        let boxes = referenced_uids(&fb.data.unwrap(), tags::REFERENCED_IMAGE_BOX_SEQUENCE);
        assert_eq!(boxes.len(), 1);
        let image = spec.images[0].clone().unwrap();
        let r = scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            &boxes[0],
            &image_box(1, image, false, &[]),
        );
        assert_eq!(r.status(), 0, "image box N-SET of film {n}");
        let r = scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid);
        assert_eq!(r.status(), 0, "N-ACTION of film {n}");
    }
    // SIGKILL right after the third acknowledgement.
    first.kill();
    drop(scu);
    let at_kill = spool_rows(&data_dir);
    eprintln!(
        "at SIGKILL: {at_kill:?}; printer has {:?}",
        eve.kept_documents()
    );
    assert_eq!(at_kill.len(), 3, "one committed job per acknowledgement");
    // The crash that matters most falls between the printer's answer to Print-Job and
    // the commit of its job ID: a few milliseconds, which a kill rarely hits. A job the
    // printer already has is put back exactly as that crash leaves it (`submitting`, no
    // printer job ID), so that the restart must find it by name instead of sending it
    // again.
    let rewound = at_kill.iter().find(|r| r.1 == "submitted").map(|r| {
        (
            r.0.clone(),
            r.2.clone().expect("submitted job has a remote id"),
        )
    });
    if let Some((id, remote)) = &rewound {
        let db = rusqlite::Connection::open(data_dir.join("spool/jobs.sqlite")).unwrap();
        let n = db
            .execute(
                "UPDATE jobs SET state = 'submitting', remote_id = NULL WHERE id = ?1",
                [id],
            )
            .unwrap();
        assert_eq!(n, 1);
        eprintln!("job {id} (printer job {remote}) rewound to submitting");
    } else {
        eprintln!("no job had reached the printer at SIGKILL: adoption not exercised");
    }

    let second = Server::restart_with(
        &data_dir,
        &log,
        &["--config", &config.display().to_string()],
    );
    let context = || {
        format!(
            "kept {:?}\nippeveprinter log (tail):\n{}",
            eve.kept_documents(),
            tail(&eve.log())
        )
    };
    let rows = wait_all_done(&second, 3, &context);
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    assert_eq!(
        ids,
        at_kill.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "the same three jobs"
    );
    // A second copy would come right after the first: give it time to show.
    std::thread::sleep(Duration::from_secs(5));
    let kept = eve.kept_documents();
    for (id, _, remote) in &rows {
        let mine = kept_for(&eve, id);
        assert_eq!(mine.len(), 1, "job {id} at the printer once: {kept:?}");
        // The printer's job ID recorded in the spool is the one that printed it.
        let remote = remote.as_deref().expect("remote job id");
        let file = mine[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            file.starts_with(&format!("{remote}-")),
            "job {id}: remote id {remote}, kept as {file}"
        );
        assert!(
            std::fs::read(&mine[0]).unwrap().starts_with(b"RaS2"),
            "PWG raster document"
        );
    }
    assert_eq!(kept.len(), 3, "nothing else printed: {kept:?}");
    let log_after = second.log_text();
    assert!(
        log_after.contains("resuming"),
        "the restart resumed the spooled jobs"
    );
    if let Some((id, remote)) = &rewound {
        let row = rows.iter().find(|r| &r.0 == id).unwrap();
        assert_eq!(
            row.2.as_ref(),
            Some(remote),
            "job {id} adopted as the printer's job {remote}"
        );
        assert!(
            log_after
                .lines()
                .any(|l| l.contains(id.as_str()) && l.contains("adopted")),
            "job {id} adopted, not sent again:\n{}",
            tail(&log_after)
        );
    }
    drop(second);
    drop(first);
}

/// Runs tests/peers/pynet_print.py's `events` scenario (Basic Grayscale Print Management
/// Meta + Print Job, one film, N-EVENT-REPORT handler, association kept open until DONE
/// or FAILURE, at most 60 s); returns its JSON report.
fn pynet_events(server: &Server, expect: &str) -> Value {
    let script = common::repo_root().join("tests/peers/pynet_print.py");
    let out = common::output_within(
        Command::new("python3")
            .arg(&script)
            .args(["--port", &server.port.to_string(), "--ae", "FILMD"])
            // pynetdicom aborts an association idle for its network timeout: longer than
            // the wait for the printer.
            .args(["--timeout", "90", "--wait", "60"])
            .args(["--scenario", "events", "--expect-events", expect])
            .args(["--format", "STANDARD\\1,1", "--values", "40"]),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "pynet_print.py: no JSON ({e}); exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status.code()
        )
    });
    assert!(
        r["ok"] == true,
        "pynet_print.py not ok: {}\nevents: {}\nfilmd log:\n{}",
        r["mismatches"],
        r["events"],
        tail(&server.log_text())
    );
    r
}

/// The Print Job events of a report as (event type, Execution Status Info).
fn job_events(r: &Value) -> Vec<(u64, String)> {
    r["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["sop_class"] == "PrintJob")
        .map(|e| {
            (
                e["event_type_id"].as_u64().unwrap_or(0),
                e["execution_status_info"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

/// A pynetdicom SCU that negotiated Print Job sees PENDING (1), PRINTING (2), DONE (3),
/// each once and in order, while filmd delivers to ippeveprinter (PRINTING once the
/// printer has taken the film); and PENDING then FAILURE (4) with an Execution Status
/// Info when the printer refuses the job (a queue pointed at a path the printer does not
/// serve: client-error-not-found).
fn print_job_events_follow_the_ipp_job_at_a_pynetdicom_scu() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let server = Server::start_with(&[], Some(&ipp_config(&eve.uri())));
    let r = pynet_events(&server, "1,2,3");
    let events = job_events(&r);
    assert_eq!(
        events.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "PENDING, PRINTING, DONE, each once: {events:?}"
    );
    assert_eq!(
        events.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        vec!["QUEUED", "NORMAL", "NORMAL"],
        "Execution Status Info: {events:?}"
    );
    let jobs = r["print_job_uids"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    for e in r["events"].as_array().unwrap() {
        if e["sop_class"] == "PrintJob" {
            assert_eq!(e["instance_uid"], jobs[0], "events name the job");
        }
    }
    // DONE came when the printer had completed the job: its document is there, once.
    let rows = spool_rows(&server.data_dir);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "done");
    assert_eq!(
        kept_for(&eve, &rows[0].0).len(),
        1,
        "{:?}",
        eve.kept_documents()
    );
    assert_eq!(eve.kept_documents().len(), 1);

    // A queue whose printer URI names a path ippeveprinter does not serve.
    let missing = format!("ipp://127.0.0.1:{}/ipp/no-such-printer", eve.port);
    let refused = Server::start_with(&[], Some(&ipp_config(&missing)));
    let r = pynet_events(&refused, "1,4");
    let events = job_events(&r);
    assert_eq!(
        events.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![1, 4],
        "PENDING, FAILURE, each once, no PRINTING for a film the printer never took: \
         {events:?}\nfilmd log:\n{}",
        tail(&refused.log_text())
    );
    // The reason ("printer refused the job: client-error-not-found ...") starts with no
    // defined term of its own: PRINTER DOWN (print::print_job).
    assert_eq!(
        events[1].1, "PRINTER DOWN",
        "Execution Status Info: {events:?}"
    );
    assert!(
        refused.log_text().contains("client-error-not-found"),
        "the printer's refusal is logged:\n{}",
        tail(&refused.log_text())
    );
    let rows = spool_rows(&refused.data_dir);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "failed", "{rows:?}");
    assert_eq!(eve.kept_documents().len(), 1, "nothing more printed");
}
