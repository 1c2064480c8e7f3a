//! The operator's commands against a running server: `filmd jobs`, `queues`, `cancel`
//! and `retry` over the admin socket, the one-server-per-data-directory lock, and a
//! film cancelled while its printer is away, then printed again at ippeveprinter; hold
//! and release, pause and resume gating the PDF archive; a refusing queue answering
//! pynetdicom's N-ACTIONs with C602/C601 and the operator's reason.

use crate::common;
use crate::common::harness::{Test, trials};

use common::ipp_peers::{IppEve, IppEveOptions};
use common::scu::*;
use common::{PEER_DEADLINE, Server, output_within};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        jobs_and_queues_are_listed_and_impossible_actions_refused_with_reasons,
        #[needs(Ippeveprinter)]
        a_cancelled_film_is_printed_again_once_the_printer_is_back,
        held_films_and_paused_queues_reach_the_archive_only_when_released_and_resumed,
        #[needs(Pynetdicom)]
        a_refusing_queue_answers_pynetdicom_c602_and_c601_with_the_operators_reason,
    ]
}

/// Runs `filmd ARGS --data-dir DIR`.
fn filmd(data_dir: &Path, args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd"))
            .args(args)
            .arg("--data-dir")
            .arg(data_dir),
        PEER_DEADLINE,
    )
}

/// Runs `filmd ARGS --data-dir DIR --json`; returns the JSON it printed.
fn filmd_json(data_dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = filmd(data_dir, &all);
    assert!(
        out.status.success(),
        "filmd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn jobs(data_dir: &Path) -> Vec<Value> {
    filmd_json(data_dir, &["jobs"]).as_array().unwrap().clone()
}

/// Waits (at most 60 s: a bound for a loaded machine, not a timing) until `f` gives a value.
fn wait_for<T>(what: &str, context: impl Fn() -> String, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn film(label: &'static str) -> filmd::scu::FilmSpec<'static> {
    let pixels: Vec<u16> = (0..32 * 32).map(|p| (p % 32 * 8) as u16).collect();
    let mut spec = filmd::scu::FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(filmd::scu::gray_image(
            32,
            32,
            8,
            "MONOCHROME2",
            &pixels,
        ))],
    );
    spec.label = label;
    spec
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// On an archive queue: the job list and the queue view say what happened; what cannot
/// be done is refused with the reason and exit status 1; a second server on the same
/// data directory is refused; a missing server is exit status 2; garbage on the socket
/// gets an error answer and the server goes on.
fn jobs_and_queues_are_listed_and_impossible_actions_refused_with_reasons() {
    let mut server = Server::start();
    let dir = server.data_dir.clone();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let (status, _) = print_film(&mut scu, &film("CHEST PA"));
    assert_eq!(status, 0);
    scu.release();

    let job = wait_for(
        "the job done",
        || server.log_text(),
        || jobs(&dir).into_iter().find(|j| j["state"] == "done"),
    );
    assert_eq!(job["queue"], "default");
    assert_eq!(job["label"], "CHEST PA");
    assert_eq!(
        (job["films"].as_u64(), job["copies"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(job["priority"], "MED");
    let id = job["id"].as_str().unwrap().to_string();

    let table = filmd(&dir, &["jobs"]);
    let text = String::from_utf8_lossy(&table.stdout);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("ID"), "{text}");
    let row = lines.next().expect("one job row");
    assert!(
        row.starts_with(&id) && row.contains("done") && row.contains("CHEST PA"),
        "{text}"
    );

    let filtered = filmd_json(&dir, &["jobs", "--state", "failed"]);
    assert_eq!(filtered.as_array().unwrap().len(), 0);

    let queues = filmd_json(&dir, &["queues"]);
    let q = &queues.as_array().unwrap()[0];
    assert_eq!(q["name"], "default");
    assert_eq!(q["printer"], Value::Null);
    assert_eq!(q["status"], "NORMAL");
    assert_eq!(q["jobs"]["done"], 1);

    let retry = filmd(&dir, &["retry", &id]);
    assert_eq!(retry.status.code(), Some(1));
    assert!(
        stderr(&retry).contains("is done: only failed or cancelled jobs are printed again"),
        "{}",
        stderr(&retry)
    );
    let cancel = filmd(&dir, &["cancel", &id]);
    assert_eq!(cancel.status.code(), Some(1));
    assert!(
        stderr(&cancel).contains("already done"),
        "{}",
        stderr(&cancel)
    );
    // An identity only for a job going to a PACS, with values fit for their VR, and at
    // least one of them.
    let assign = filmd(&dir, &["assign", &id, "--patient-id", "123"]);
    assert_eq!(assign.status.code(), Some(1));
    assert!(
        stderr(&assign).contains("cannot be given an identity: it is done"),
        "{}",
        stderr(&assign)
    );
    let assign = filmd(&dir, &["assign", &id, "--sex", "Q"]);
    assert_eq!(assign.status.code(), Some(1));
    assert!(stderr(&assign).contains("M, F or O"), "{}", stderr(&assign));
    let assign = filmd(&dir, &["assign", &id]);
    assert_eq!(assign.status.code(), Some(2), "clap: an option is required");
    let unknown = filmd(&dir, &["cancel", "no-such-job"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no job no-such-job"));
    let bad_state = filmd(&dir, &["jobs", "--state", "lost"]);
    assert_eq!(bad_state.status.code(), Some(1));
    assert!(stderr(&bad_state).contains("no job state \"lost\""));

    // Garbage, and a line longer than the limit, get error answers; the server goes on.
    let socket = dir.join(filmd::data_dir::SOCKET_NAME);
    for request in [
        b"not json\n".to_vec(),
        b"{\"op\":\"drop_everything\"}\n".to_vec(),
        vec![b'x'; filmd::admin::MAX_REQUEST + 10],
    ] {
        let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.write_all(&request);
        let mut answer = String::new();
        BufReader::new(&s).read_line(&mut answer).unwrap();
        let answer: Value = serde_json::from_str(&answer).expect("an answer");
        assert_eq!(answer["ok"], false, "{answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    assert_eq!(jobs(&dir).len(), 1, "still answering");
    assert!(server.log_text().contains("admin request refused"));

    // The socket is for the service's user only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // A second server on the same data directory would deliver the spool twice.
    let second = output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir),
        PEER_DEADLINE,
    );
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("another filmd is using"),
        "{}",
        stderr(&second)
    );
    assert_eq!(jobs(&dir).len(), 1, "the first server is unharmed");

    let empty = tempfile::tempdir().unwrap();
    let none = filmd(empty.path(), &["jobs"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("no server is running, and no spool database"),
        "{}",
        stderr(&none)
    );
    let none = filmd(empty.path(), &["queues"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("no filmd server answers"));

    // The server stopped: its jobs are still listed, read from the spool database, and
    // what needs the server says so.
    server.kill();
    let offline = filmd(&dir, &["jobs", "--json"]);
    assert!(offline.status.success(), "{}", stderr(&offline));
    assert!(stderr(&offline).contains("no server is running"));
    let listed: Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "done");
    let cancel = filmd(&dir, &["cancel", &id]);
    assert_eq!(cancel.status.code(), Some(2));
}

/// A film waits for a printer that is away; the operator cancels it, the printer comes
/// back, and the operator prints it again: it arrives once, as the new job, and the old
/// row says where it went.
fn a_cancelled_film_is_printed_again_once_the_printer_is_back() {
    let mut eve = IppEve::start(IppEveOptions::pdf());
    let config = format!(
        "[server]\nae_title = \"FILMD\"\n\n\
         [[queue]]\nname = \"films\"\nipp = \"{}\"\nipp_poll_secs = 1\n",
        eve.uri()
    );
    eve.stop();
    let server = Server::start_with(&[], Some(&config));
    let dir = server.data_dir.clone();
    let context = || format!("filmd log:\n{}", server.log_text());
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let (status, _) = print_film(&mut scu, &film("KNEE"));
    assert_eq!(status, 0);
    scu.release();

    let waiting = wait_for("the film waiting for its printer", context, || {
        jobs(&dir)
            .into_iter()
            .find(|j| j["state"] == "submitting" && !j["last_error"].is_null())
    });
    let old = waiting["id"].as_str().unwrap().to_string();
    let queues = filmd_json(&dir, &["queues"]);
    let q = &queues.as_array().unwrap()[0];
    assert_eq!(q["printer"], eve.uri().as_str());
    assert_eq!(
        (q["status"].as_str(), q["status_info"].as_str()),
        (Some("FAILURE"), Some("PRINTER DOWN"))
    );
    assert_eq!(q["jobs"]["submitting"], 1);

    let cancel = filmd(&dir, &["cancel", &old]);
    assert!(cancel.status.success(), "{}", stderr(&cancel));
    assert_eq!(
        String::from_utf8_lossy(&cancel.stdout).trim(),
        format!("cancelled {old}")
    );
    let row = jobs(&dir)
        .into_iter()
        .find(|j| j["id"] == old.as_str())
        .unwrap();
    assert_eq!(row["state"], "cancelled");
    assert_eq!(row["last_error"], "cancelled by the operator");

    eve.restart();
    let retry = filmd(&dir, &["retry", &old]);
    assert!(retry.status.success(), "{}", stderr(&retry));
    let said = String::from_utf8_lossy(&retry.stdout).trim().to_string();
    let new = said
        .strip_prefix(&format!("{old} printed again as "))
        .unwrap_or_else(|| panic!("{said}"))
        .to_string();
    assert_ne!(new, old);
    let done = wait_for("the new job done", context, || {
        jobs(&dir)
            .into_iter()
            .find(|j| j["id"] == new.as_str() && j["state"] == "done")
    });
    assert_eq!(done["label"], "KNEE");
    let old_row = jobs(&dir)
        .into_iter()
        .find(|j| j["id"] == old.as_str())
        .unwrap();
    assert_eq!(old_row["state"], "cancelled");
    assert!(
        old_row["note"]
            .as_str()
            .is_some_and(|n| n.ends_with(&format!("printed again as {new}"))),
        "{old_row}"
    );
    assert_eq!(old_row["retried_as"], new.as_str());
    // Asked twice, the film is not printed twice.
    let twice = filmd(&dir, &["retry", &old]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        stderr(&twice).contains(&format!("already printed again as {new}")),
        "{}",
        stderr(&twice)
    );

    // At the printer: the new job's document, once; nothing of the cancelled one.
    let kept = eve.kept_documents();
    let named = |id: &str| {
        let name = filmd::spool::job_name(id);
        kept.iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(&name))
            })
            .count()
    };
    assert_eq!(named(&new), 1, "{kept:?}");
    assert_eq!(named(&old), 0, "{kept:?}");
    assert_eq!(kept.len(), 1, "{kept:?}");
}

/// Runs `filmd ARGS --data-dir DIR`, requires success; returns its stdout.
fn filmd_ok(data_dir: &Path, args: &[&str]) -> String {
    let out = filmd(data_dir, args);
    assert!(out.status.success(), "filmd {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn job_state(data_dir: &Path, id: &str) -> (String, bool) {
    let job = filmd_json(data_dir, &["job", id]);
    (
        job["job"]["state"].as_str().unwrap().to_string(),
        job["job"]["held"] == true,
    )
}

/// Prints one film on a new association; its job's ID.
fn print_one(server: &Server, label: &'static str) -> String {
    let before: Vec<Value> = jobs(&server.data_dir);
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let (status, _) = print_film(&mut scu, &film(label));
    assert_eq!(status, 0, "{label}");
    scu.release();
    let job = jobs(&server.data_dir)
        .into_iter()
        .find(|j| j["label"] == label && !before.iter().any(|b| b["id"] == j["id"]))
        .expect("the job listed once the N-ACTION is answered");
    job["id"].as_str().unwrap().to_string()
}

/// On the archive queue: a paused queue accepts a film and writes no PDF until resumed;
/// a held film stays back while a later one is archived, and is archived once released;
/// `filmd job` tells its history; what cannot be done is refused with its reason.
fn held_films_and_paused_queues_reach_the_archive_only_when_released_and_resumed() {
    let server = Server::start();
    let dir = server.data_dir.clone();
    let context = || format!("filmd log:\n{}", server.log_text());

    assert_eq!(
        filmd_ok(&dir, &["pause", "default"]).trim(),
        "queue default paused"
    );
    assert_eq!(
        filmd_ok(&dir, &["pause", "default"]).trim(),
        "queue default was already paused"
    );
    let queues = filmd_json(&dir, &["queues"]);
    assert_eq!(queues[0]["paused"], true);
    assert!(
        filmd_ok(&dir, &["queues"])
            .lines()
            .nth(1)
            .unwrap()
            .contains("paused")
    );

    let first = print_one(&server, "PAUSED");
    // A paused queue's job would be composed within milliseconds; give it a second.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.pdfs().len(), 0, "paused: nothing archived");
    assert_eq!(job_state(&dir, &first), ("received".into(), false));

    assert_eq!(
        filmd_ok(&dir, &["hold", &first]).trim(),
        format!("job {first} held")
    );
    let table = filmd_ok(&dir, &["jobs"]);
    assert!(table.contains("received (held)"), "{table}");
    assert_eq!(
        filmd_ok(&dir, &["resume", "default"]).trim(),
        "queue default resumed"
    );

    let second = print_one(&server, "AFTER");
    wait_for("the later film done", context, || {
        (job_state(&dir, &second).0 == "done").then_some(())
    });
    assert_eq!(server.wait_pdfs(1).len(), 1);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.pdfs().len(), 1, "the held film is not archived");
    assert_eq!(job_state(&dir, &first), ("received".into(), true));

    assert_eq!(
        filmd_ok(&dir, &["release", &first]).trim(),
        format!("job {first} released")
    );
    assert_eq!(server.wait_pdfs(2).len(), 2);
    wait_for("the released film done", context, || {
        (job_state(&dir, &first) == ("done".into(), false)).then_some(())
    });
    let detail = filmd_json(&dir, &["job", &first]);
    let events: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["received", "held", "released", "composed", "done"]);
    assert_eq!(
        detail["films"][0]["params"]["display_format"],
        "STANDARD\\1,1"
    );
    assert!(detail["archive_pdf"].is_string(), "{detail}");
    let text = filmd_ok(&dir, &["job", &first]);
    assert!(
        text.contains("released") && text.contains("PAUSED"),
        "{text}"
    );
    let queues = filmd_json(&dir, &["queues"]);
    assert_eq!(queues[0]["films_printed_today"], 2);

    let refused = filmd(&dir, &["hold", &first]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("only received or composed jobs can be held"),
        "{}",
        stderr(&refused)
    );
    let unknown = filmd(&dir, &["pause", "nowhere"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no queue named nowhere"));
    let unknown = filmd(&dir, &["job", "no-such-job"]);
    assert_eq!(unknown.status.code(), Some(1));
}

/// Runs tests/peers/pynet_print.py's print scenario against the server; its report.
fn pynet_print(server: &Server, args: &[&str]) -> Value {
    let script = common::repo_root().join("tests/peers/pynet_print.py");
    let out = output_within(
        Command::new("python3")
            .arg(&script)
            .args(["--port", &server.port.to_string(), "--ae", "FILMD"])
            .args(["--timeout", "20", "--scenario", "print"])
            .args(args),
        PEER_DEADLINE,
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pynet_print.py {args:?}: no JSON ({e})\nstderr:\n{}",
            stderr(&out)
        )
    })
}

/// The N-ACTION response of a pynet_print.py report.
fn n_action(report: &Value) -> Value {
    report["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"].as_str().is_some_and(|op| op.contains("ACTION")))
        .unwrap_or_else(|| panic!("no N-ACTION: {report}"))
        .clone()
}

/// `filmd refuse` with a reason: pynetdicom's film box N-ACTION gets C602 and its film
/// session N-ACTION C601 (PS3.4 H.4.2.2.4, H.4.1.2.4: the print job cannot be created),
/// each with the operator's reason as Error Comment; nothing is spooled or archived;
/// `filmd accept` lets the next film through.
fn a_refusing_queue_answers_pynetdicom_c602_and_c601_with_the_operators_reason() {
    let server = Server::start();
    let dir = server.data_dir.clone();
    let reason = "out of film, call ext. 1234";
    assert_eq!(
        filmd_ok(&dir, &["refuse", "default", "--reason", reason]).trim(),
        format!("queue default refusing new prints: {reason}")
    );
    let queues = filmd_json(&dir, &["queues"]);
    assert_eq!(queues[0]["refusing"], reason);
    assert!(
        filmd_ok(&dir, &["queues"]).contains(&format!("refusing: {reason}")),
        "the table shows it"
    );

    let film_box = pynet_print(&server, &["--allow", "0xC602"]);
    let action = n_action(&film_box);
    assert_eq!(
        (action["status"].as_str(), action["error_comment"].as_str()),
        (Some("0xC602"), Some(reason)),
        "{film_box}"
    );
    let session = pynet_print(&server, &["--session-print", "--allow", "0xC601"]);
    let action = n_action(&session);
    assert_eq!(
        (action["status"].as_str(), action["error_comment"].as_str()),
        (Some("0xC601"), Some(reason)),
        "{session}"
    );
    assert!(jobs(&dir).is_empty(), "no job was created");
    assert!(
        server.log_text().contains("refusing"),
        "a log line says why"
    );

    assert_eq!(
        filmd_ok(&dir, &["accept", "default"]).trim(),
        "queue default accepting new prints"
    );
    let accepted = pynet_print(&server, &[]);
    assert_eq!(n_action(&accepted)["status"], "0x0000", "{accepted}");
    assert_eq!(server.wait_pdfs(1).len(), 1);
    assert_eq!(filmd_json(&dir, &["queues"])[0]["refusing"], Value::Null);
}
