//! The IPP backend against real IPP peers on loopback: CUPS's ippeveprinter (an IPP
//! Everywhere printer that keeps what it receives) and cupsd with a raw queue in front of
//! it. Each test starts its own peers on free ports and stops them by PID.

use crate::common;
use crate::common::harness::{Test, trials};

use common::ipp_peers::{Cupsd, IppEve, IppEveOptions};
use filmd::backend::ipp::{
    ColorMode, DocumentFormat, IppFailure, IppPrinter, JobSnapshot, JobState, JobTicket,
    Orientation, PrinterState, PwgType, Resolution, choose_format,
};
use filmd::backend::pdf::{DocumentInfo, encode_pdf};
use filmd::film::Page;
use std::time::{Duration, Instant, SystemTime};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Ippeveprinter)]
        pwg_only_printer_gets_pwg_gray_and_refuses_pdf,
        #[needs(Ippeveprinter)]
        pdf_print_job_arrives_intact_with_its_ticket,
        #[needs(Ippeveprinter)]
        busy_printer_is_retryable_and_both_jobs_complete,
        #[needs(Ippeveprinter)]
        stopped_printer_is_retryable_until_it_comes_back,
        #[needs(Ippeveprinter, Cupsd)]
        cupsd_queue_forwards_and_reports_pause,
        #[needs(Ippeveprinter, LocalhostIsLoopback)]
        ipps_with_the_printers_self_signed_certificate,
        #[needs(Ippeveprinter)]
        cancel_job_cancels_a_printing_job,
    ]
}

const TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a job to finish (ippeveprinter "prints" a job in a few seconds).
const JOB_WAIT: Duration = Duration::from_secs(90);

/// A one-page PDF of a synthetic gray film (a diagonal ramp), 3 x 4 inches at 100 dpi.
fn gray_pdf() -> Vec<u8> {
    let (w, h, dpi) = (300u32, 400u32, 100u32);
    let pixels = (0..h)
        .flat_map(|y| (0..w).map(move |x| ((x + y) % 256) as u8))
        .collect();
    let page = Page {
        width_px: w,
        height_px: h,
        width_pt: w as f64 * 72.0 / dpi as f64,
        height_pt: h as f64 * 72.0 / dpi as f64,
        dpi,
        channels: 1,
        pixels,
    };
    let info = DocumentInfo {
        title: "filmd IPP test".into(),
        author: "filmd".into(),
        subject: "test film".into(),
        creator: "filmd tests".into(),
        created: SystemTime::now(),
        ..Default::default()
    };
    encode_pdf(&[page], &info).expect("encode PDF")
}

fn ticket(job_name: &str, format: &str) -> JobTicket {
    JobTicket {
        format: format.into(),
        job_name: job_name.into(),
        copies: 1,
        media: Some("iso_a4_210x297mm".into()),
        print_color_mode: ColorMode::Monochrome,
        orientation_requested: Orientation::Portrait,
        printer_resolution: None,
        print_scaling: None,
    }
}

fn printer(uri: &str) -> IppPrinter {
    IppPrinter::new(uri, None, TIMEOUT).expect("IppPrinter::new")
}

/// Polls Get-Job-Attributes until the job is in a terminal state.
async fn wait_terminal(p: &IppPrinter, id: i32) -> JobSnapshot {
    let start = Instant::now();
    loop {
        let job = p.job_status(id).await.expect("Get-Job-Attributes");
        if job.state.is_terminal() {
            return job;
        }
        assert!(
            start.elapsed() < JOB_WAIT,
            "job {id} not finished after {JOB_WAIT:?}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Print-Job, retried after the spool's backoff while the printer says it is busy; returns the
/// job id and how many attempts were refused as retryable.
async fn print_with_retry(p: &IppPrinter, doc: &[u8], t: &JobTicket) -> (i32, u32) {
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        match p.print_job(doc.to_vec(), t).await {
            Ok(id) => return (id, attempt),
            Err(e @ IppFailure::Retryable { .. }) => {
                assert!(start.elapsed() < JOB_WAIT, "still refused: {e}");
                tokio::time::sleep(filmd::spool::RetryPolicy::default().backoff(attempt + 1)).await;
                attempt += 1;
            }
            Err(e) => panic!("Print-Job failed permanently: {e}"),
        }
    }
}

/// The value of `name (type) = value` in ipptool -v output.
fn ipptool_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix(name)?.strip_prefix(" (")?;
        Some(rest.split_once(") = ")?.1.to_string())
    })
}

async fn pwg_only_printer_gets_pwg_gray_and_refuses_pdf() {
    let eve = IppEve::start(IppEveOptions::default());
    let p = printer(&eve.uri());
    let s = p.get_attributes().await.expect("Get-Printer-Attributes");

    assert_eq!(s.state, PrinterState::Idle);
    assert!(s.accepting_jobs);
    let mut formats = s.document_formats.clone();
    formats.sort();
    assert_eq!(
        formats,
        ["application/octet-stream", "image/pwg-raster", "image/urf"]
    );
    assert!(s.pwg_types.contains(&"sgray_8".to_string()), "{s:?}");
    assert!(
        s.pwg_resolutions.contains(&Resolution { x: 300, y: 300 }),
        "{s:?}"
    );
    assert!(!s.color_supported);
    assert!(
        s.media_supported.contains(&"iso_a4_210x297mm".to_string()),
        "{s:?}"
    );
    assert!(s.media_default.is_some());
    assert_eq!(
        choose_format(&s, false, 300),
        Some(DocumentFormat::PwgRaster {
            kind: PwgType::Sgray8,
            resolution: Resolution { x: 300, y: 300 }
        })
    );

    let err = p
        .print_job(gray_pdf(), &ticket("filmd-refused", "application/pdf"))
        .await
        .expect_err("a PWG-only printer must refuse PDF");
    match &err {
        IppFailure::Permanent { status, .. } => assert!(
            status == "client-error-document-format-not-supported"
                || status == "client-error-attributes-or-values-not-supported",
            "{err}"
        ),
        other => panic!("expected a permanent failure, got {other}"),
    }
    eprintln!("PDF to a PWG-only ippeveprinter: {err}");
    assert!(
        eve.kept_documents().is_empty(),
        "{:?}",
        eve.kept_documents()
    );
}

async fn pdf_print_job_arrives_intact_with_its_ticket() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let p = printer(&eve.uri());
    let s = p.get_attributes().await.expect("Get-Printer-Attributes");
    assert_eq!(choose_format(&s, false, 300), Some(DocumentFormat::Pdf));

    let pdf = gray_pdf();
    let t = JobTicket {
        copies: 2,
        ..ticket("filmd-test-1", DocumentFormat::Pdf.mime())
    };
    let (id, _) = print_with_retry(&p, &pdf, &t).await;
    assert!(id > 0);

    let job = wait_terminal(&p, id).await;
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(job.id, id);
    assert_eq!(job.name.as_deref(), Some("filmd-test-1"));

    let kept = eve.wait_kept_document(id, Duration::from_secs(10));
    assert_eq!(kept.extension().and_then(|e| e.to_str()), Some("pdf"));
    assert!(
        std::fs::read(&kept).unwrap() == pdf,
        "kept document differs"
    );

    // The printer's own view of the job, read with ipptool.
    let attrs = eve.ipptool_job_attributes(&eve.uri(), id);
    assert_eq!(
        ipptool_value(&attrs, "copies").as_deref(),
        Some("2"),
        "{attrs}"
    );
    assert_eq!(
        ipptool_value(&attrs, "media").as_deref(),
        Some("iso_a4_210x297mm"),
        "{attrs}"
    );
    assert_eq!(
        ipptool_value(&attrs, "print-color-mode").as_deref(),
        Some("monochrome"),
        "{attrs}"
    );
    assert_eq!(
        ipptool_value(&attrs, "orientation-requested").as_deref(),
        Some("portrait"),
        "{attrs}"
    );
    assert_eq!(
        ipptool_value(&attrs, "document-format-supplied").as_deref(),
        Some("application/pdf"),
        "{attrs}"
    );

    let found = p.find_job_by_name("filmd-test-1").await.expect("Get-Jobs");
    let found = found.expect("job found by name");
    assert_eq!(found.id, id);
    assert_eq!(found.state, JobState::Completed);
    assert_eq!(
        p.find_job_by_name("filmd-test-2").await.expect("Get-Jobs"),
        None
    );

    // A job the printer does not have (purged, or lost in a restart) is
    // client-error-not-found, permanently: the spool's cue to look it up by name.
    match p.job_status(id + 1000).await {
        Err(IppFailure::Permanent { status, .. }) => {
            assert_eq!(status, "client-error-not-found")
        }
        other => panic!("Get-Job-Attributes of an unknown job: {other:?}"),
    }
}

async fn busy_printer_is_retryable_and_both_jobs_complete() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let p = printer(&eve.uri());
    let pdf = gray_pdf();
    let first = p
        .print_job(pdf.clone(), &ticket("filmd-busy-1", "application/pdf"))
        .await
        .expect("first Print-Job");
    // Straight after the first: either queued or server-error-busy (Retryable).
    let second = p
        .print_job(pdf.clone(), &ticket("filmd-busy-2", "application/pdf"))
        .await;
    let second = match second {
        Ok(id) => {
            eprintln!("second Print-Job accepted at once (job {id})");
            id
        }
        Err(e @ IppFailure::Retryable { .. }) => {
            eprintln!("second Print-Job: {e}");
            let (id, retries) =
                print_with_retry(&p, &pdf, &ticket("filmd-busy-2", "application/pdf")).await;
            eprintln!("accepted after {} more refusals", retries);
            id
        }
        Err(e) => panic!("second Print-Job failed permanently: {e}"),
    };
    assert_ne!(first, second);
    for id in [first, second] {
        let job = wait_terminal(&p, id).await;
        assert_eq!(job.state, JobState::Completed, "{job:?}");
        let kept = eve.wait_kept_document(id, Duration::from_secs(10));
        assert!(std::fs::read(kept).unwrap() == pdf);
    }
    assert_eq!(eve.kept_documents().len(), 2, "{:?}", eve.kept_documents());
}

async fn stopped_printer_is_retryable_until_it_comes_back() {
    let mut eve = IppEve::start(IppEveOptions::pdf());
    let p = printer(&eve.uri());
    p.get_attributes().await.expect("printer up");
    eve.stop();
    let err = p.get_attributes().await.expect_err("printer down");
    assert!(err.is_retryable(), "{err}");
    let err = p
        .print_job(gray_pdf(), &ticket("filmd-down", "application/pdf"))
        .await
        .expect_err("printer down");
    assert!(err.is_retryable(), "{err}");
    eve.restart();
    let s = p.get_attributes().await.expect("printer back");
    assert_eq!(s.state, PrinterState::Idle);
}

async fn cupsd_queue_forwards_and_reports_pause() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let cupsd = Cupsd::start(&eve.uri());
    let q = printer(&cupsd.queue_uri());

    let s = q
        .get_attributes()
        .await
        .expect("Get-Printer-Attributes via cupsd");
    eprintln!("cupsd queue ({}): {s:?}", cupsd.model);
    assert_eq!(s.state, PrinterState::Idle);
    assert!(s.accepting_jobs);
    assert_eq!(choose_format(&s, false, 300), Some(DocumentFormat::Pdf));

    let pdf = gray_pdf();
    let (id, _) = print_with_retry(&q, &pdf, &ticket("filmd-cups-1", "application/pdf")).await;
    let job = wait_terminal(&q, id).await;
    assert_eq!(
        job.state,
        JobState::Completed,
        "{job:?}; {}",
        cupsd.error_log()
    );
    // cupsd numbers its own jobs; the printer's kept file is the only one there.
    let start = Instant::now();
    while eve.kept_documents().is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let kept = eve.kept_documents();
    assert_eq!(kept.len(), 1, "{kept:?}; {}", cupsd.error_log());
    assert!(
        std::fs::read(&kept[0]).unwrap() == pdf,
        "document changed on the way"
    );
    let found = q
        .find_job_by_name("filmd-cups-1")
        .await
        .expect("Get-Jobs via cupsd");
    assert_eq!(found.map(|j| j.id), Some(id));

    // Paused queue: stopped with reason "paused", still accepting (and holding) jobs.
    cupsd.disable();
    let s = q
        .get_attributes()
        .await
        .expect("attributes of the paused queue");
    assert_eq!(s.state, PrinterState::Stopped, "{s:?}");
    assert!(s.state_reasons.iter().any(|r| r == "paused"), "{s:?}");
    let (held, _) = print_with_retry(&q, &pdf, &ticket("filmd-cups-2", "application/pdf")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let job = q.job_status(held).await.expect("job on the paused queue");
    assert_eq!(job.state, JobState::Pending, "{job:?}");

    cupsd.enable();
    let s = q
        .get_attributes()
        .await
        .expect("attributes after cupsenable");
    assert_ne!(s.state, PrinterState::Stopped, "{s:?}");
    assert!(!s.state_reasons.iter().any(|r| r == "paused"), "{s:?}");
    let job = wait_terminal(&q, held).await;
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    let start = Instant::now();
    while eve.kept_documents().len() < 2 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(eve.kept_documents().len(), 2, "{}", cupsd.error_log());
    let s = q.get_attributes().await.expect("attributes when done");
    assert_eq!(s.state, PrinterState::Idle, "{s:?}");
}

async fn ipps_with_the_printers_self_signed_certificate() {
    // The certificate names only "localhost", so the URI must too: the test needs that
    // name to mean 127.0.0.1 here and nothing else (Peer::LocalhostIsLoopback).
    let eve = IppEve::start(IppEveOptions {
        tls: true,
        ..IppEveOptions::pdf()
    });
    let pem = eve.tls_cert_pem();

    // No explicit port: refused before any connection.
    let err = IppPrinter::new("ipps://127.0.0.1/ipp/print", Some(pem.clone()), TIMEOUT)
        .expect_err("ipps without port");
    assert!(
        matches!(&err, IppFailure::Permanent { status, message }
            if status == "invalid-uri" && message.contains("explicit port")),
        "{err}"
    );

    // Without the certificate as trust anchor the handshake fails (verification is on).
    let untrusted = IppPrinter::new(&eve.ipps_uri(), None, TIMEOUT).unwrap();
    let err = untrusted
        .get_attributes()
        .await
        .expect_err("untrusted cert");
    assert!(err.is_retryable(), "{err}");
    eprintln!("ipps without the CA: {err}");
    // With it, but by address: the certificate has no IP subjectAltName.
    let by_ip = format!("ipps://127.0.0.1:{}/ipp/print", eve.port);
    let err = IppPrinter::new(&by_ip, Some(pem.clone()), TIMEOUT)
        .unwrap()
        .get_attributes()
        .await
        .expect_err("name mismatch");
    assert!(
        err.is_retryable() && err.to_string().contains("certificate"),
        "{err}"
    );
    eprintln!("ipps by IP with the CA: {err}");

    let p = IppPrinter::new(&eve.ipps_uri(), Some(pem), TIMEOUT).unwrap();
    let s = p
        .get_attributes()
        .await
        .expect("Get-Printer-Attributes over TLS");
    assert_eq!(s.state, PrinterState::Idle);
    let pdf = gray_pdf();
    let (id, _) = print_with_retry(&p, &pdf, &ticket("filmd-tls-1", "application/pdf")).await;
    let job = wait_terminal(&p, id).await;
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    let kept = eve.wait_kept_document(id, Duration::from_secs(10));
    assert!(std::fs::read(kept).unwrap() == pdf);
}

async fn cancel_job_cancels_a_printing_job() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let p = printer(&eve.uri());
    let (id, _) =
        print_with_retry(&p, &gray_pdf(), &ticket("filmd-cancel", "application/pdf")).await;
    p.cancel_job(id).await.expect("Cancel-Job");
    let job = wait_terminal(&p, id).await;
    assert_eq!(job.state, JobState::Canceled, "{job:?}");
    // A finished job cannot be canceled again.
    let err = p.cancel_job(id).await.expect_err("second Cancel-Job");
    eprintln!("Cancel-Job of a canceled job: {err}");
    assert!(!err.is_retryable(), "{err}");
}
