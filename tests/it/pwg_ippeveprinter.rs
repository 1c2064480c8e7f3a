//! filmd's PWG raster in front of a real IPP Everywhere printer: CUPS's `ippeveprinter`
//! with its default formats (PWG raster and URF only, like a driverless printer), driven
//! by CUPS's `ipptool` (test files in tests/data/).
//!
//! The printer's own answers choose the media (`media-supported`), the resolution
//! (`pwg-raster-document-resolution-supported`) and the DICOM printer status; a two-page
//! document made by `PwgWriter` is sent with Print-Job; the job must complete, and the copy
//! ippeveprinter keeps (`-k`) must be our bytes exactly.
//!
//! ippeveprinter needs a D-Bus system bus even with `-r off`: a private `dbus-daemon` on a
//! socket in the test's directory serves. Both processes are killed by PID on drop.

use crate::common;
use crate::common::harness::{Test, trials};
use common::ipp_peers;

use filmd::backend::media::{self, MediaFit, MediaSize};
use filmd::backend::pwg::{self, PwgPage, PwgWriter};
use filmd::film::Page;
use filmd::outputs::board::PrinterStatus;
use filmd::outputs::ipp::status::{self as printer_state, ExecutionStatus};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Ippeveprinter)]
        ippeveprinter_prints_a_two_page_pwg_raster_job_from_our_encoder,
    ]
}

/// ippeveprinter and its private bus, on 127.0.0.1.
struct Printer {
    printer: Child,
    dbus: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Printer {
    fn start() -> Printer {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("dbus.sock");
        let mut dbus = ipp_peers::command("dbus-daemon")
            .arg("--session")
            .arg(format!("--address=unix:path={}", socket.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        // The address line means the bus is listening.
        let mut line = String::new();
        BufReader::new(dbus.stdout.take().expect("dbus stdout"))
            .read_line(&mut line)
            .expect("dbus-daemon address");
        assert!(line.starts_with("unix:"), "dbus-daemon said {line:?}");
        std::fs::create_dir(dir.path().join("spool")).expect("spool dir");

        // A free port can be taken between our probe and ippeveprinter's bind: retry.
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("ippeveprinter.log")).expect("log");
            let mut printer = ipp_peers::command("ippeveprinter")
                .env(
                    "DBUS_SYSTEM_BUS_ADDRESS",
                    format!("unix:path={}", socket.display()),
                )
                .args(["-n", "localhost", "-p", &port.to_string(), "-d"])
                .arg(dir.path().join("spool"))
                .args(["-k", "-r", "off", "filmd test printer"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start ippeveprinter");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = printer.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Printer {
                        printer,
                        dbus,
                        port,
                        dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = printer.kill();
            let _ = printer.wait();
        }
        let log = std::fs::read_to_string(dir.path().join("ippeveprinter.log"));
        let _ = dbus.kill();
        let _ = dbus.wait();
        panic!("ippeveprinter did not start: {log:?}");
    }

    fn uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/ipp/print", self.port)
    }

    fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    /// Runs one of tests/data/*.test against the printer; returns the attributes it
    /// DISPLAYs, by name. Panics with ipptool's report if a test fails.
    fn ipptool(&self, test: &str, args: &[&str]) -> HashMap<String, String> {
        let file = common::repo_root().join("tests/data").join(test);
        let out = common::output_within(
            ipp_peers::command("ipptool")
                .args(["-t", "-T", "30"])
                .args(args)
                .arg(self.uri())
                .arg(&file),
            common::PEER_DEADLINE,
        );
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ipptool {test} {args:?} failed:\n{report}\n{}\nippeveprinter log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("ippeveprinter.log")).unwrap_or_default()
        );
        // DISPLAY lines: "        name (syntax) = value".
        report
            .lines()
            .filter_map(|line| {
                let (name, value) = line.trim().split_once(" = ")?;
                let name = name.split_once(" (")?.0;
                Some((name.to_string(), value.to_string()))
            })
            .collect()
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        for child in [&mut self.printer, &mut self.dbus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `job-state` and `printer-state` keywords as ipptool shows them (RFC 8011 §5.3.7,
/// §5.4.11).
fn state_value(keyword: &str) -> i32 {
    match keyword {
        "idle" | "pending" => 3,
        "processing" | "pending-held" => 4,
        "stopped" => 5,
        "processing-stopped" => 6,
        "canceled" => 7,
        "aborted" => 8,
        "completed" => 9,
        other => panic!("unknown state {other:?}"),
    }
}

/// A synthetic composed film: `w_in` × `h_in` inches at `dpi`, a gradient inside a black
/// frame.
fn film(w_in: f64, h_in: f64, dpi: u32) -> Page {
    let (w, h) = (
        (w_in * f64::from(dpi)) as usize,
        (h_in * f64::from(dpi)) as usize,
    );
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let frame = x < 20 || y < 20 || x >= w - 20 || y >= h - 20;
            pixels.push(if frame { 0 } else { (x * 255 / w) as u8 });
        }
    }
    Page {
        width_px: w as u32,
        height_px: h as u32,
        width_pt: w_in * 72.0,
        height_pt: h_in * 72.0,
        dpi,
        channels: 1,
        pixels,
    }
}

fn split(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).collect()
}

fn ippeveprinter_prints_a_two_page_pwg_raster_job_from_our_encoder() {
    let printer = Printer::start();

    // What the printer offers decides media, resolution and colour.
    let attrs = printer.ipptool("pwg-printer-attributes.test", &[]);
    let formats = split(&attrs["document-format-supported"]);
    assert!(formats.contains(&pwg::MIME_TYPE), "{formats:?}");
    assert!(split(&attrs["pwg-raster-document-type-supported"]).contains(&"sgray_8"));
    let dpi: u32 = split(&attrs["pwg-raster-document-resolution-supported"])
        .iter()
        .filter_map(|r| r.strip_suffix("dpi")?.parse().ok())
        .min()
        .expect("a resolution");
    assert_eq!(dpi, 300);
    let status = printer_state::printer_status(
        state_value(&attrs["printer-state"]),
        &split(&attrs["printer-state-reasons"]),
    );
    assert_eq!(
        (status.status, status.info),
        (PrinterStatus::Normal, "NORMAL")
    );

    // A 14 × 17 in film: no such paper, fit to page on the largest scale (legal).
    let supported = split(&attrs["media-supported"]);
    let choice = media::choose_media(14.0 * 25.4, 17.0 * 25.4, &supported).expect("media");
    assert_eq!(choice.media.name, "na_legal_8.5x14in");
    assert_eq!(choice.fit, MediaFit::Scaled);
    let legal: MediaSize = choice.media;
    let first = media::fit_page(&film(14.0, 17.0, 100), &legal, dpi, 0.0).expect("fit");
    assert!((first.scale - 8.5 / 14.0).abs() < 1e-9);
    // An 8 × 10 in film on the same paper prints at true size.
    let second = media::fit_page(&film(8.0, 10.0, 100), &legal, dpi, 0.0).expect("fit");
    assert_eq!((second.scale, second.rotated), (1.0, false));

    let mut writer = PwgWriter::new(Vec::new()).expect("writer");
    for fitted in [&first, &second] {
        assert_eq!((fitted.page.width_px, fitted.page.height_px), (2550, 4200));
        let settings = PwgPage {
            page_size_name: legal.name.clone(),
            total_page_count: 2,
            image_box: Some(fitted.image_box),
            ..PwgPage::default()
        };
        writer.add_page(&fitted.page, &settings).expect("page");
    }
    let document = writer.finish();
    let path = printer.dir.path().join("films.pwg");
    std::fs::write(&path, &document).expect("write document");

    let job = printer.ipptool(
        "pwg-print-job.test",
        &[
            "-f",
            path.to_str().expect("utf-8 path"),
            "-d",
            &format!("media={}", legal.name),
        ],
    );
    let job_id = job["job-id"].clone();

    // ippeveprinter "prints" for 5 to 15 s; poll until the job is final.
    let start = Instant::now();
    let (state, reasons) = loop {
        let attrs = printer.ipptool("pwg-job-state.test", &["-d", &format!("job_id={job_id}")]);
        let state = state_value(&attrs["job-state"]);
        if state >= 7 {
            break (state, attrs["job-state-reasons"].clone());
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job {job_id} still in state {state} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(state, 9, "job {job_id} ended in state {state}: {reasons}");
    let outcome = printer_state::execution_status(state, &split(&reasons)).expect("a final state");
    assert_eq!(
        (outcome.status, outcome.info),
        (ExecutionStatus::Done, "NORMAL")
    );

    let kept = kept_file(&printer.spool(), &job_id);
    let bytes = std::fs::read(&kept).expect("read kept document");
    assert_eq!(bytes.len(), document.len(), "{}", kept.display());
    assert!(bytes == document, "the printer received other bytes");
}

/// ippeveprinter -k keeps a job's document as `<job-id>-<job-name>.<ext>`.
fn kept_file(spool: &Path, job_id: &str) -> PathBuf {
    let prefix = format!("{job_id}-");
    let found: Vec<PathBuf> = std::fs::read_dir(spool)
        .expect("spool dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".pwg"))
        })
        .collect();
    assert_eq!(found.len(), 1, "kept files for job {job_id}: {found:?}");
    found.into_iter().next().expect("one file")
}
