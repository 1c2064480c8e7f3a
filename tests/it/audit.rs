//! The audit trail end to end: `filmd serve` with `[audit]` sending to a syslog receiver
//! run by the test (a UDP socket; a TLS listener with certificates the test makes, which
//! asks for filmd's client certificate) or to a file. A film is printed and the server
//! stopped with SIGTERM; the receiver must then hold, each as a well-formed RFC 5424
//! message whose XML parses: the configuration loaded (Security Alert, Security
//! Configuration), Application Start, the job's Data Export with the calling AE, filmd,
//! the PDF archive and the Print Job, and Application Stop, last.

use crate::common;
use crate::common::harness::{Test, trials};
use common::Server;
use common::certs::Pki;
use common::scu::*;
use filmd::print::uids;
use roxmltree::{Document, Node};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        a_print_and_the_server_life_reach_a_udp_repository,
        a_print_and_the_server_life_reach_a_tls_repository_with_client_authentication,
        a_file_destination_gets_one_line_per_message,
        operator_requests_are_audited_with_the_local_user,
        a_repository_that_never_answers_does_not_hold_up_printing,
        check_config_names_audit_problems,
        refused_associations_and_failed_tls_handshakes_are_security_alerts,
    ]
}

/// Messages a receiver collected, each a SYSLOG-MSG.
type Inbox = Arc<Mutex<Vec<Vec<u8>>>>;

fn film() -> FilmSpec<'static> {
    let pixels: Vec<u16> = (0..16 * 16).map(|p| (p % 16 * 16) as u16).collect();
    FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(gray_image(16, 16, 8, "MONOCHROME2", &pixels))],
    )
}

/// Prints one gray film as TESTSCU with the Print Job SOP class negotiated; returns the
/// job's Print Job SOP Instance UID (from the N-ACTION's Referenced Print Job Sequence)
/// and waits for its PDF.
fn print_one(server: &Server) -> (String, PathBuf) {
    let mut scu = Scu::connect(server.port, &[GRAY_META, uids::PRINT_JOB]);
    let spec = film();
    let printed = filmd::scu::print_film(&mut scu.0, &spec).expect("printed");
    assert_eq!(printed.action.status(), 0);
    let jobs = referenced_uids(
        printed
            .action
            .data
            .as_ref()
            .expect("Referenced Print Job Sequence"),
        filmd::print::print_job::REFERENCED_PRINT_JOB_SEQUENCE,
    );
    // PENDING, PRINTING and DONE come as N-EVENT-REPORTs before the release.
    scu.wait_events(3);
    scu.release();
    let pdf = server.wait_pdfs(1).remove(0);
    (jobs[0].clone(), pdf)
}

/// Stops filmd as its service manager would (SIGTERM) and waits for it to exit.
fn terminate(server: &mut Server) {
    let pid = i32::try_from(server.child.id()).unwrap();
    // SAFETY: kill has no memory effects; the PID is our own child's, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            assert!(
                status.success(),
                "filmd exited with {status}: {}",
                server.log_text()
            );
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "filmd did not stop: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `inbox` holds an Application Stop (the last message filmd sends).
fn wait_for_stop(inbox: &Inbox) {
    let started = Instant::now();
    loop {
        let done = inbox
            .lock()
            .unwrap()
            .iter()
            .any(|m| String::from_utf8_lossy(m).contains("\"110121\""));
        if done {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no Application Stop arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The HEADER fields and the XML of a SYSLOG-MSG, checking what PS3.15 A.6/A.7 and
/// RFC 5424 ask of the HEADER.
fn split(message: &[u8], pid: u32) -> String {
    let bom = message
        .windows(3)
        .position(|w| w == b"\xEF\xBB\xBF")
        .expect("MSG-UTF8 starts with a BOM");
    let header = std::str::from_utf8(&message[..bom]).unwrap();
    let fields: Vec<&str> = header.split(' ').collect();
    assert_eq!(fields.len(), 8, "{header:?}");
    assert!(
        fields[0] == "<85>1" || fields[0] == "<84>1",
        "PRI and VERSION: {header:?}"
    );
    let ts = fields[1];
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "TIMESTAMP {ts:?}"
    );
    assert_eq!(
        fields[2],
        filmd::audit::hostname().replace(' ', ""),
        "HOSTNAME"
    );
    assert_eq!(fields[3], "filmd", "APP-NAME");
    assert_eq!(fields[4], pid.to_string(), "PROCID");
    assert_eq!(fields[5], "DICOM+RFC3881", "MSGID");
    assert_eq!(fields[6], "-", "STRUCTURED-DATA");
    assert_eq!(fields[7], "", "the MSG follows one space");
    String::from_utf8(message[bom + 3..].to_vec()).expect("UTF-8")
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    node.children()
        .find(|n| n.has_tag_name(name))
        .unwrap_or_else(|| panic!("no {name} in {}", node.tag_name().name()))
}

fn code<'a>(node: Node<'a, '_>) -> &'a str {
    node.attribute("csd-code").unwrap()
}

/// (EventID, first EventTypeCode) of a message.
fn kind(doc: &Document) -> (String, Option<String>) {
    let event = child(doc.root_element(), "EventIdentification");
    let id = code(child(event, "EventID")).to_string();
    let kind = event
        .children()
        .find(|n| n.has_tag_name("EventTypeCode"))
        .map(|n| code(n).to_string());
    (id, kind)
}

/// What a job's audit trail must hold, in order, whatever carried it.
fn check_trail(
    messages: &[Vec<u8>],
    pid: u32,
    config: &Path,
    pdf_dir: &Path,
    job_id: &str,
    print_job_uid: &str,
) {
    let xmls: Vec<String> = messages.iter().map(|m| split(m, pid)).collect();
    let docs: Vec<Document> = xmls
        .iter()
        .map(|x| Document::parse(x).unwrap_or_else(|e| panic!("{e}: {x}")))
        .collect();
    let kinds: Vec<(String, Option<String>)> = docs.iter().map(kind).collect();
    let s = |a: &str, b: Option<&str>| (a.to_string(), b.map(str::to_string));
    assert_eq!(
        kinds,
        [
            s("110113", Some("110129")),
            s("110100", Some("110120")),
            s("110106", None),
            s("110100", Some("110121")),
        ],
        "configuration loaded, start, export, stop"
    );
    for doc in &docs {
        let source = child(doc.root_element(), "AuditSourceIdentification");
        assert_eq!(source.attribute("AuditSourceID"), Some("FILMD"));
    }

    // The configuration loaded: the file is the Alert Subject.
    let subject = child(docs[0].root_element(), "ParticipantObjectIdentification");
    let config = std::path::absolute(config).unwrap();
    assert_eq!(
        subject.attribute("ParticipantObjectID"),
        Some(format!("file://{}", config.display()).as_str())
    );

    // The Data Export: TESTSCU asked, filmd exported, the archive received, the Print Job
    // went.
    let export = docs[2].root_element();
    let event = child(export, "EventIdentification");
    assert_eq!(event.attribute("EventActionCode"), Some("R"));
    assert_eq!(event.attribute("EventOutcomeIndicator"), Some("0"));
    let participants: Vec<(&str, &str, &str)> = export
        .children()
        .filter(|n| n.has_tag_name("ActiveParticipant"))
        .map(|p| {
            (
                p.attribute("UserID").unwrap(),
                p.attribute("UserIsRequestor").unwrap(),
                code(child(p, "RoleIDCode")),
            )
        })
        .collect();
    let pdf_uri = format!("file://{}", std::path::absolute(pdf_dir).unwrap().display());
    assert_eq!(
        participants,
        [
            ("TESTSCU", "true", "110153"),
            (pid.to_string().as_str(), "false", "110153"),
            (pdf_uri.as_str(), "false", "110154"),
        ]
    );
    let filmd_participant = export
        .children()
        .filter(|n| n.has_tag_name("ActiveParticipant"))
        .nth(1)
        .unwrap();
    assert_eq!(
        filmd_participant.attribute("AlternativeUserID"),
        Some("AETITLES=FILMD")
    );
    assert_eq!(filmd_participant.attribute("UserName"), Some("filmd"));
    let job = child(export, "ParticipantObjectIdentification");
    assert_eq!(job.attribute("ParticipantObjectID"), Some(print_job_uid));
    assert_eq!(job.attribute("ParticipantObjectTypeCode"), Some("2"));
    assert_eq!(job.attribute("ParticipantObjectTypeCodeRole"), Some("20"));
    assert_eq!(
        child(job, "ParticipantObjectName").text(),
        Some(format!("filmd job {job_id}").as_str())
    );
    let class = job
        .descendants()
        .find(|n| n.has_tag_name("SOPClass"))
        .unwrap();
    assert_eq!(class.attribute("UID"), Some("1.2.840.10008.5.1.1.14"));
}

/// The job ID from the PDF's name (`{job}.pdf`, the default template).
fn job_id(pdf: &Path) -> String {
    pdf.file_stem().unwrap().to_str().unwrap().to_string()
}

/// A syslog receiver on a UDP port of 127.0.0.1: each datagram is one message (RFC 5426).
struct UdpReceiver {
    port: u16,
    inbox: Inbox,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl UdpReceiver {
    fn start() -> UdpReceiver {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let inbox: Inbox = Arc::default();
        let collected = inbox.clone();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    collected.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        UdpReceiver {
            port,
            inbox,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops receiving and returns what arrived.
    fn finish(mut self) -> Vec<Vec<u8>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.inbox.lock().unwrap().clone()
    }
}

fn a_print_and_the_server_life_reach_a_udp_repository() {
    let receiver = UdpReceiver::start();
    let config = format!(
        "[audit]\ndestination = \"udp://127.0.0.1:{}\"\n",
        receiver.port
    );
    let mut server = Server::start_with(&[], Some(&config));
    let (uid, pdf) = print_one(&server);
    terminate(&mut server);
    wait_for_stop(&receiver.inbox);
    let messages = receiver.finish();
    check_trail(
        &messages,
        server.child.id(),
        &server.config_path().unwrap(),
        &server.pdf_dir(),
        &job_id(&pdf),
        &uid,
    );
}

/// A rustls server configuration for the test's repository, with the shared test PKI's
/// server certificate, that requires a client certificate from its CA.
fn repository_config(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = CertificateDer::pem_file_iter(&pki.server.cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&pki.server.key).unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// filmd's `[audit]` section for a TLS repository on `port`, with the PKI's client
/// certificate as filmd's.
fn tls_audit_config(pki: &Pki, port: u16) -> String {
    format!(
        "[audit]\ndestination = \"tls://127.0.0.1:{port}\"\nca_file = {:?}\n\
         client_cert = {:?}\nclient_key = {:?}\n",
        pki.ca, pki.client.cert, pki.client.key,
    )
}

/// Accepts TLS connections on `listener` and collects their RFC 5425 frames until each
/// connection ends; counts the client certificates presented.
fn tls_receiver(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    inbox: Inbox,
    certs: Arc<Mutex<Vec<usize>>>,
) {
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let (config, inbox, certs) = (config.clone(), inbox.clone(), certs.clone());
            std::thread::spawn(move || {
                tcp.set_read_timeout(Some(Duration::from_secs(120)))
                    .unwrap();
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut reader = BufReader::new(&mut tls);
                loop {
                    let mut len = Vec::new();
                    if reader.read_until(b' ', &mut len).unwrap_or(0) == 0 {
                        break;
                    }
                    let n: usize = std::str::from_utf8(&len[..len.len() - 1])
                        .unwrap()
                        .parse()
                        .expect("MSG-LEN");
                    let mut message = vec![0u8; n];
                    reader.read_exact(&mut message).unwrap();
                    inbox.lock().unwrap().push(message);
                }
                let presented = tls.conn.peer_certificates().map_or(0, <[_]>::len);
                certs.lock().unwrap().push(presented);
            });
        }
    });
}

fn a_print_and_the_server_life_reach_a_tls_repository_with_client_authentication() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Arc::default();
    let certs: Arc<Mutex<Vec<usize>>> = Arc::default();
    tls_receiver(
        listener,
        repository_config(&pki),
        inbox.clone(),
        certs.clone(),
    );
    let mut server = Server::start_with(&[], Some(&tls_audit_config(&pki, port)));
    let (uid, pdf) = print_one(&server);
    terminate(&mut server);
    wait_for_stop(&inbox);
    let messages = inbox.lock().unwrap().clone();
    check_trail(
        &messages,
        server.child.id(),
        &server.config_path().unwrap(),
        &server.pdf_dir(),
        &job_id(&pdf),
        &uid,
    );
    let started = Instant::now();
    while certs.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        *certs.lock().unwrap(),
        [1],
        "one connection, with filmd's client certificate, closed at stop"
    );
}

fn a_file_destination_gets_one_line_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let config = format!("[audit]\ndestination = \"file://{}\"\n", log.display());
    let mut server = Server::start_with(&[], Some(&config));
    let (uid, pdf) = print_one(&server);
    terminate(&mut server);
    check_trail(
        &file_lines(&log),
        server.child.id(),
        &server.config_path().unwrap(),
        &server.pdf_dir(),
        &job_id(&pdf),
        &uid,
    );
}

/// The lines of an audit file, as (HEADER+XML) messages.
fn file_lines(log: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(log).unwrap();
    assert_eq!(text.last(), Some(&b'\n'));
    text[..text.len() - 1]
        .split(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// `filmd retry` and `filmd cancel` over the admin socket are Security Alerts (Use of
/// Restricted Function) naming the local user the socket's peer credentials give, the
/// job (by its Print Job UID when filmd knows it) and, for a refusal, outcome 4.
fn operator_requests_are_audited_with_the_local_user() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let config = format!("[audit]\ndestination = \"file://{}\"\n", log.display());
    let mut server = Server::start_with(&[], Some(&config));
    let (uid, pdf) = print_one(&server);
    let id = job_id(&pdf);
    let admin = |args: &[&str]| {
        common::output_within(
            std::process::Command::new(env!("CARGO_BIN_EXE_filmd"))
                .args(args)
                .arg("--data-dir")
                .arg(&server.data_dir),
            common::PEER_DEADLINE,
        )
    };
    // Done already: the retry is refused (exit status 1), and so is an unknown job's cancel.
    let started = Instant::now();
    loop {
        let out = admin(&["retry", &id]);
        assert_eq!(out.status.code(), Some(1));
        if String::from_utf8_lossy(&out.stderr).contains("is done") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job never finished"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(admin(&["cancel", "no-such-job"]).status.code(), Some(1));
    terminate(&mut server);
    let pid = server.child.id();
    let xmls: Vec<String> = file_lines(&log).iter().map(|m| split(m, pid)).collect();
    let alerts: Vec<Document> = xmls
        .iter()
        .map(|x| Document::parse(x).unwrap())
        .filter(|d| kind(d).1.as_deref() == Some("110132"))
        .collect();
    let user = filmd::audit::process_user();
    let seen: Vec<(String, String, String, String)> = alerts
        .iter()
        .map(|d| {
            let root = d.root_element();
            let event = child(root, "EventIdentification");
            let operator = child(root, "ActiveParticipant");
            let subject = child(root, "ParticipantObjectIdentification");
            (
                event
                    .attribute("EventOutcomeIndicator")
                    .unwrap()
                    .to_string(),
                operator.attribute("UserID").unwrap().to_string(),
                subject
                    .attribute("ParticipantObjectID")
                    .unwrap()
                    .to_string(),
                code(child(subject, "ParticipantObjectIDTypeCode")).to_string(),
            )
        })
        .collect();
    let retries = seen.len() - 1;
    assert!(retries >= 1, "{seen:?}");
    for s in &seen[..retries] {
        assert_eq!(
            s,
            &("4".into(), user.clone(), uid.clone(), "PRINT-JOB".into())
        );
    }
    assert_eq!(
        seen[retries],
        ("4".into(), user, "no-such-job".into(), "JOB-ID".into())
    );
}

/// A TLS repository that takes the connection and never answers the handshake, with a
/// queue of two: films still print at once, the messages beyond the queue are dropped and
/// counted, and the stop takes the audit trail's bounded drain and no more.
fn a_repository_that_never_answers_does_not_hold_up_printing() {
    let pki = Pki::new();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
    let holding = held.clone();
    std::thread::spawn(move || {
        for tcp in silent.incoming().flatten() {
            holding.lock().unwrap().push(tcp);
        }
    });
    let config = format!("{}queue_size = 2\n", tls_audit_config(&pki, port));
    let mut server = Server::start_with(&[], Some(&config));
    let started = Instant::now();
    for n in 1..=3 {
        let mut scu = Scu::connect(server.port, &[GRAY_META]);
        let (status, _) = print_film(&mut scu, &film());
        assert_eq!(status, 0);
        scu.release();
        server.wait_pdfs(n);
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "printing took {:?}",
        started.elapsed()
    );
    let stopping = Instant::now();
    terminate(&mut server);
    let took = stopping.elapsed();
    assert!(
        took < filmd::app::AUDIT_DRAIN + Duration::from_secs(20),
        "stop took {took:?}"
    );
    let log = server.log_text();
    assert!(log.contains("audit message dropped (queue full)"), "{log}");
    assert!(log.contains("message(s) dropped while filmd ran"), "{log}");
    assert!(
        !held.lock().unwrap().is_empty(),
        "filmd did try the repository"
    );
}

fn check_config_names_audit_problems() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filmd.toml");
    for (text, problems) in [
        (
            "[audit]\ndestination = \"tcp://127.0.0.1:514\"\nqueue_size = 0\n",
            &[
                "audit.destination: \"tcp://127.0.0.1:514\": scheme \"tcp\"",
                "audit.queue_size: must be between 1 and",
            ][..],
        ),
        (
            "[audit]\ndestination = \"tls://127.0.0.1:6514\"\n",
            &["audit.ca_file: a tls:// destination needs"][..],
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = common::output_within(
            std::process::Command::new(env!("CARGO_BIN_EXE_filmd"))
                .arg("check-config")
                .arg(&file),
            common::PEER_DEADLINE,
        );
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        for problem in problems {
            assert!(err.contains(problem), "{problem} not in: {err}");
        }
    }
}

/// The Security Alerts (110113) with event type Node Authentication (110126) of the
/// messages, as (EventOutcomeIndicator, the alert subject's description).
fn node_alerts(messages: &[Vec<u8>], pid: u32) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| split(m, pid))
        .filter_map(|xml| {
            let doc = Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
            if kind(&doc) != ("110113".to_string(), Some("110126".to_string())) {
                return None;
            }
            let event = child(doc.root_element(), "EventIdentification");
            let subject = child(doc.root_element(), "ParticipantObjectIdentification");
            assert_eq!(subject.attribute("ParticipantObjectID"), Some("127.0.0.1"));
            // ParticipantObjectDetail values are xs:base64Binary.
            let detail = subject
                .descendants()
                .filter(|n| n.has_tag_name("ParticipantObjectDetail"))
                .filter_map(|n| n.attribute("value"))
                .map(decode_base64)
                .collect::<Vec<_>>()
                .join(" ");
            Some((
                event
                    .attribute("EventOutcomeIndicator")
                    .unwrap()
                    .to_string(),
                detail,
            ))
        })
        .collect()
}

fn refused_associations_and_failed_tls_handshakes_are_security_alerts() {
    let receiver = UdpReceiver::start();
    let pki = Pki::new();
    let config = format!(
        "[audit]\ndestination = \"udp://127.0.0.1:{}\"\n{}\
         [[queue]]\nname = \"default\"\nallow_calling = [\"CT*\"]\n",
        receiver.port,
        pki.tls_section("127.0.0.1:0", true, true)
    );
    let mut server = Server::start_with(&[], Some(&config));
    // TESTSCU is not CT*: refused by the rule.
    let refused = Scu::try_connect(server.port, "FILMD", &[GRAY_META]);
    assert!(refused.is_err(), "association refused");
    // A TLS client without a certificate: the handshake fails.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", server.tls_port.unwrap())).unwrap();
    std::io::Write::write_all(&mut tcp, b"\x01\x00\x00\x00\x00\x10plain DICOM here").unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = tcp.read_to_end(&mut Vec::new());
    terminate(&mut server);
    wait_for_stop(&receiver.inbox);
    let alerts = node_alerts(&receiver.finish(), server.child.id());
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let refusal = alerts
        .iter()
        .find(|(_, d)| d.contains("refused"))
        .unwrap_or_else(|| panic!("no refusal alert in {alerts:?}"));
    assert_eq!(refusal.0, "4", "minor failure");
    assert!(refusal.1.contains("TESTSCU"), "{refusal:?}");
    assert!(
        alerts.iter().any(|(o, d)| o == "4" && d.contains("TLS")),
        "a TLS failure alert: {alerts:?}"
    );
}

/// Decodes RFC 4648 base64 (with padding) as UTF-8 text.
fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        bits = bits << 6 | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}
