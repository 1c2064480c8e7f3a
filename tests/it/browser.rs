//! The operator's console in a real browser: headless Chromium, driven by selenium
//! (tests/peers/console_browser.py), watches films that pynetdicom prints, and its
//! /metrics read by prometheus_client's parser (tests/peers/prom_check.py).
//!
//! `FILMD_SCREENSHOTS=DIR` keeps the browser's screenshots (overview.png, job.png) in
//! DIR: `FILMD_SCREENSHOTS=$PWD/docs/screenshots cargo nextest run --release --test it
//! -- browser::` makes the README's. `FILMD_CHROMIUM_FLAGS` adds Chromium flags (space
//! separated), to diagnose.

use crate::common;
use crate::common::harness::{Test, trials};

use common::ipp_peers::{IppEve, IppEveOptions};
use common::{PEER_DEADLINE, Server, output_within};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Chromium, Pynetdicom, Ippeveprinter)]
        a_browser_sees_a_job_arrive_live_previews_it_and_holds_releases_cancels_on_a_paused_queue,
        #[needs(PromParser, Pynetdicom, Ippeveprinter)]
        metrics_parse_with_prometheus_client_and_count_films_and_rejections,
    ]
}

/// How long the whole browser run may take: each of its waits gives up after 30 s, and
/// a healthy run takes well under a minute; below nextest's 5-minute limit.
const BROWSER_DEADLINE: Duration = Duration::from_secs(200);

/// filmd with its console on a free loopback port (`--http-listen 127.0.0.1:0`, the
/// test servers' default); `queues` is the `[[queue]]` part of the configuration.
/// Returns the server and the console's base URL (no trailing slash).
fn start_with_console(queues: &str) -> (Server, String) {
    let config = format!("[server]\nae_title = \"FILMD\"\n\n{queues}");
    let mut server = Server::start_with(&[], Some(&config));
    let url = server.console_url();
    (server, url.trim_end_matches('/').to_string())
}

/// Runs tests/peers/pynet_print.py's `print` scenario at called AE `ae`; requires every
/// expectation met.
fn pynet_print(server: &Server, ae: &str, args: &[&str]) -> Value {
    let out = output_within(
        Command::new("python3")
            .arg(common::repo_root().join("tests/peers/pynet_print.py"))
            .args(["--port", &server.port.to_string(), "--ae", ae])
            .args([
                "--calling-ae",
                "CT_ROOM_2",
                "--timeout",
                "20",
                "--scenario",
                "print",
            ])
            .args(args),
        PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "pynet_print.py {args:?}: no JSON ({e})\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        r["ok"] == true,
        "pynet_print.py {args:?} not ok: {}\nresponses: {}\nfilmd log:\n{}",
        r["mismatches"],
        r["responses"],
        server.log_text()
    );
    r
}

/// `filmd jobs --json` over the admin socket: the spool's own word, beside the browser's.
fn jobs(data_dir: &Path) -> Vec<Value> {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd"))
            .args(["jobs", "--json", "--data-dir"])
            .arg(data_dir),
        PEER_DEADLINE,
    );
    assert!(
        out.status.success(),
        "filmd jobs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("filmd jobs --json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A job's (state, held) as `filmd jobs` gives them.
fn job_state(data_dir: &Path, id: &str) -> Option<(String, bool)> {
    jobs(data_dir).into_iter().find(|j| j["id"] == id).map(|j| {
        (
            j["state"].as_str().unwrap_or_default().to_string(),
            j["held"] == true,
        )
    })
}

/// Files in a directory, by name.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// tests/peers/console_browser.py running: its stdout lines arrive on a channel; its
/// stderr (the progress and any failure) is collected; stopped by PID when dropped
/// (SIGTERM first, so that it quits Chromium and chromedriver).
struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    started: Instant,
}

impl Browser {
    fn start(args: &[&str]) -> Browser {
        let mut child = Command::new("python3")
            .arg(common::repo_root().join("tests/peers/console_browser.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start console_browser.py");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Browser {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            started: Instant::now(),
        }
    }

    /// The next line it prints; `None` when it ended or the deadline passed.
    fn next_line(&self) -> Option<String> {
        let left = BROWSER_DEADLINE.checked_sub(self.started.elapsed())?;
        self.lines.recv_timeout(left).ok()
    }

    fn answer(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to console_browser.py");
        stdin.flush().expect("flush");
    }

    /// Stops it (if still running) and returns what it wrote on stderr.
    fn finish(mut self) -> String {
        self.stdin = None;
        self.stop();
        self.stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }

    /// Waits up to `limit` for it to exit by itself.
    fn exited_within(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return true;
            }
            if start.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        // after its RESULT it quits the browser and exits; else SIGTERM makes it quit
        // the browser (its `finally`); SIGKILL last
        if !self.exited_within(Duration::from_secs(5)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            if !self.exited_within(Duration::from_secs(10)) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stdin = None;
        self.stop();
    }
}

/// Where the screenshots go: `FILMD_SCREENSHOTS` (made if absent), else a temporary
/// directory (they are checked either way).
fn screenshot_dir(tmp: &tempfile::TempDir) -> PathBuf {
    match std::env::var_os("FILMD_SCREENSHOTS") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("FILMD_SCREENSHOTS directory");
            dir
        }
        _ => tmp.path().to_path_buf(),
    }
}

/// The browser test. An operator has the overview open while a modality
/// (pynetdicom) prints a 2-film session to the IPP queue: the job's row appears without
/// a reload (the SSE live refresh); its page shows both previews decoded and serves
/// its PDF. The operator pauses the archive queue `ward`; two jobs printed into it are
/// taken but not delivered; the operator holds both, releases one, resumes the queue:
/// the released one is archived, the held one is not until it is cancelled. The spool
/// (`filmd jobs`), the archive directory and the printer agree with what the browser
/// saw.
fn a_browser_sees_a_job_arrive_live_previews_it_and_holds_releases_cancels_on_a_paused_queue() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let queues = format!(
        "[[queue]]\nname = \"default\"\nipp = \"{}\"\nipp_poll_secs = 1\n\n\
         [[queue]]\nname = \"ward\"\nae_titles = [\"WARD\"]\npdf_dir = \"ward\"\n",
        eve.uri()
    );
    let (server, base) = start_with_console(&queues);
    let data = server.data_dir.clone();
    let ward = data.join("ward");
    let tmp = tempfile::tempdir().expect("tempdir");
    let shots = screenshot_dir(&tmp);
    for name in ["overview.png", "job.png"] {
        let _ = std::fs::remove_file(shots.join(name));
    }
    let context = |browser_err: &str| {
        format!(
            "console_browser.py stderr:\n{browser_err}\nfilmd log:\n{}",
            server.log_text()
        )
    };

    let shots_arg = shots.display().to_string();
    let mut args = vec![
        "--base",
        &base,
        "--scenario",
        "tour",
        "--queue",
        "ward",
        "--films",
        "2",
        "--screenshots",
        &shots_arg,
    ];
    // FILMD_CHROMIUM_FLAGS: more Chromium flags, space separated, to diagnose a failure
    // (one argument each: argparse would take a separate "--flag" for an option)
    let flags: Vec<String> = std::env::var("FILMD_CHROMIUM_FLAGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| format!("--chromium-flag={f}"))
        .collect();
    args.extend(flags.iter().map(String::as_str));
    let mut browser = Browser::start(&args);
    let mut result: Option<Value> = None;
    let mut steps = Vec::new();
    while let Some(line) = browser.next_line() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["READY", "print"] => {
                pynet_print(
                    &server,
                    "FILMD",
                    &[
                        "--films",
                        "2",
                        "--session-print",
                        "--format",
                        "STANDARD\\2,2",
                        "--rows",
                        "128",
                        "--cols",
                        "128",
                        "--label",
                        "CHEST PA",
                    ],
                );
                browser.answer("printed");
            }
            ["READY", "print-paused"] => {
                // two film box N-ACTIONs: two jobs
                pynet_print(&server, "WARD", &["--films", "2", "--label", "WARD ROUND"]);
                browser.answer("printed");
            }
            ["READY", "released", released, held] => {
                // the queue is still paused: nothing of either job may be archived; the
                // spool has the one released and the other held
                let states = [job_state(&data, released), job_state(&data, held)];
                let waiting = |s: &Option<(String, bool)>, want_held: bool| {
                    s.as_ref().is_some_and(|(state, h)| {
                        matches!(state.as_str(), "received" | "composed") && *h == want_held
                    })
                };
                let archived = files(&ward);
                if archived.is_empty() && waiting(&states[0], false) && waiting(&states[1], true) {
                    browser.answer("ok");
                } else {
                    browser.answer(&format!(
                        "fail: on the paused queue the spool says (state, held) {states:?}, \
                         archive {archived:?}"
                    ));
                }
            }
            ["RESULT", ..] => {
                let json = line.trim_start_matches("RESULT").trim();
                result = Some(serde_json::from_str(json).expect("RESULT JSON"));
                break;
            }
            _ => panic!("console_browser.py said {line:?}"),
        }
        steps.push(line);
    }
    let stderr = browser.finish();
    let result = result.unwrap_or_else(|| {
        panic!(
            "console_browser.py ended without a RESULT (after {steps:?})\n{}",
            context(&stderr)
        )
    });
    assert!(
        result["ok"] == true,
        "the browser's check failed: {}\n{}",
        result["error"].as_str().unwrap_or("?"),
        context(&stderr)
    );

    // The spool, the archive and the printer say what the browser saw.
    let id = |k: &str| result["jobs"][k].as_str().expect("job id").to_string();
    let (first, released, cancelled) = (id("first"), id("released"), id("cancelled"));
    let all = jobs(&data);
    let row = |id: &str| {
        all.iter()
            .find(|j| j["id"] == id)
            .unwrap_or_else(|| panic!("job {id} not in filmd jobs: {all:?}"))
    };
    assert_eq!(row(&first)["state"], "done");
    assert_eq!(row(&first)["queue"], "default");
    assert_eq!(row(&first)["films"], 2);
    assert_eq!(row(&released)["state"], "done");
    assert_eq!(row(&cancelled)["state"], "cancelled");
    for id in [&released, &cancelled] {
        assert_eq!(row(id)["queue"], "ward");
        assert_eq!(row(id)["label"], "WARD ROUND");
    }
    assert_eq!(
        files(&ward),
        vec![format!("{released}.pdf")],
        "only the released job is archived"
    );
    assert_eq!(
        eve.kept_documents().len(),
        1,
        "the printer got the first job once: {:?}",
        eve.kept_documents()
    );
    for name in ["overview.png", "job.png"] {
        let png = std::fs::read(shots.join(name)).unwrap_or_default();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
            "screenshot {name}: {} bytes",
            png.len()
        );
    }
}

/// /metrics read by prometheus_client's parser through tests/peers/prom_check.py:
/// every sample, as JSON.
fn metrics(base: &str) -> Value {
    let out = output_within(
        Command::new("python3")
            .arg(common::repo_root().join("tests/peers/prom_check.py"))
            .args(["--url", &format!("{base}/metrics"), "--prefix", "filmd_"]),
        PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "prom_check.py: no JSON ({e})\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        r["ok"] == true && out.status.success(),
        "prom_check.py found problems in /metrics: {}",
        r["problems"]
    );
    r
}

/// The value of sample `name` whose labels include `labels`; 0 when absent (a counter
/// whose label set has not been seen yet).
fn sample(m: &Value, name: &str, labels: &[(&str, &str)]) -> f64 {
    m["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["name"] == name)
        .find(|s| labels.iter().all(|(k, v)| s["labels"][k] == *v))
        .and_then(|s| s["value"].as_f64())
        .unwrap_or(0.0)
}

/// The metrics parse with a real Prometheus parser, name every family as Prometheus
/// asks (prom_check.py: HELP, TYPE, `_total` counters, `filmd_` prefix, one group per
/// family), and move by exactly what happened: two jobs of 3 films on the archive queue
/// and one film on the IPP queue count 3 and 1 received and printed, none failed; three
/// film box / film session N-ACTIONs succeeded; an association to an unknown called AE
/// counts one rejection under `called_ae`; the durations of composing, encoding for the
/// printer and delivering are observed; the jobs gauge, printer status and build info
/// are there.
fn metrics_parse_with_prometheus_client_and_count_films_and_rejections() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let (server, base) = start_with_console(&format!(
        "[[queue]]\nname = \"default\"\n\n\
         [[queue]]\nname = \"ward\"\nae_titles = [\"WARD\"]\nipp = \"{}\"\nipp_poll_secs = 1\n",
        eve.uri()
    ));
    let before = metrics(&base);
    assert_eq!(before["families"]["filmd_films_printed"]["type"], "counter");
    assert_eq!(
        sample(
            &before,
            "filmd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    pynet_print(&server, "FILMD", &["--films", "2", "--session-print"]);
    pynet_print(&server, "FILMD", &["--films", "1"]);
    pynet_print(&server, "WARD", &["--films", "1"]);
    // an A-ASSOCIATE-RQ to a called AE no queue has: rejected
    let out = output_within(
        Command::new("python3")
            .arg(common::repo_root().join("tests/peers/pynet_print.py"))
            .args(["--port", &server.port.to_string(), "--ae", "NOSUCHQUEUE"])
            .args(["--timeout", "20", "--scenario", "echo"]),
        PEER_DEADLINE,
    );
    let echo: Value = serde_json::from_slice(&out.stdout).expect("pynet_print.py echo JSON");
    assert_eq!(
        echo["associations"][0]["rejected"], true,
        "unknown called AE: {echo}"
    );

    // films count as printed once their jobs are done (the IPP one when the printer
    // says it completed): wait for the counters
    let start = Instant::now();
    let after = loop {
        let m = metrics(&base);
        let printed = |q| sample(&m, "filmd_films_printed_total", &[("queue", q)]);
        if (printed("default") >= 3.0 && printed("ward") >= 1.0)
            || start.elapsed() > Duration::from_secs(60)
        {
            break m;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for family in [
        "filmd_associations_open",
        "filmd_associations_accepted",
        "filmd_associations_rejected",
        "filmd_dimse_requests",
        "filmd_films_received",
        "filmd_films_printed",
        "filmd_films_failed",
        "filmd_jobs",
        "filmd_compose_duration_seconds",
        "filmd_encode_duration_seconds",
        "filmd_delivery_duration_seconds",
        "filmd_printer_status",
        "filmd_spool_free_bytes",
        "filmd_build_info",
        "filmd_start_time_seconds",
    ] {
        assert!(
            after["families"].get(family).is_some(),
            "/metrics has no {family}: {}",
            after["families"]
        );
    }
    for (family, kind) in [
        ("filmd_associations_open", "gauge"),
        ("filmd_associations_rejected", "counter"),
        ("filmd_dimse_requests", "counter"),
        ("filmd_films_received", "counter"),
        ("filmd_jobs", "gauge"),
        ("filmd_compose_duration_seconds", "histogram"),
        ("filmd_encode_duration_seconds", "histogram"),
        ("filmd_delivery_duration_seconds", "histogram"),
    ] {
        assert_eq!(after["families"][family]["type"], kind, "{family}");
    }
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    for (queue, films) in [("default", 3.0), ("ward", 1.0)] {
        let q = [("queue", queue)];
        assert_eq!(delta("filmd_films_received_total", &q), films, "{queue}");
        assert_eq!(delta("filmd_films_printed_total", &q), films, "{queue}");
        assert_eq!(delta("filmd_films_failed_total", &q), 0.0, "{queue}");
    }
    assert_eq!(
        delta(
            "filmd_associations_rejected_total",
            &[("reason", "called_ae")]
        ),
        1.0,
        "rejections by reason: {}",
        after["samples"]
    );
    assert_eq!(delta("filmd_associations_accepted_total", &[]), 3.0);
    assert_eq!(
        delta(
            "filmd_dimse_requests_total",
            &[("operation", "n_action"), ("status_class", "success")]
        ),
        3.0
    );
    assert_eq!(
        sample(
            &after,
            "filmd_jobs",
            &[("queue", "default"), ("state", "done")]
        ),
        2.0
    );
    assert_eq!(
        sample(
            &after,
            "filmd_jobs",
            &[("queue", "ward"), ("state", "done")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "filmd_compose_duration_seconds_count",
            &[("queue", "default")]
        ),
        2.0
    );
    assert_eq!(
        sample(
            &after,
            "filmd_delivery_duration_seconds_count",
            &[("queue", "ward")]
        ),
        1.0
    );
    assert!(
        after["samples"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["name"] == "filmd_encode_duration_seconds_count"
                && s["value"].as_f64() >= Some(1.0)),
        "no encode observed: {}",
        after["samples"]
    );
    assert_eq!(
        sample(
            &after,
            "filmd_printer_status",
            &[("queue", "ward"), ("status", "NORMAL")]
        ),
        1.0
    );
    assert_eq!(sample(&after, "filmd_associations_open", &[]), 0.0);
    assert!(sample(&after, "filmd_spool_free_bytes", &[]) > 0.0);
}
