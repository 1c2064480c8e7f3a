//! Access rules (`allow_calling`, `allow_from`, `echo_from_anyone`): a refused peer gets
//! A-ASSOCIATE-RJ permanent, source service user (1), reason 1 for its address and 3 for
//! its calling AE title (PS3.8 9.3.4), and the refusal is logged; an allowed one prints.
//! Other source addresses on loopback come from binding the client to 127.0.0.2 and
//! 127.0.0.3.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use dicom_ul::pdu::{AssociationRQ, Pdu, PresentationContextProposed, UserVariableItem};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Pynetdicom)]
        calling_ae_titles_no_pattern_allows_are_rejected_with_reason_3,
        #[needs(Pynetdicom)]
        source_addresses_outside_allow_from_are_rejected_with_reason_1,
        #[needs(Pynetdicom)]
        echo_from_anyone_admits_verification_only_associations,
        #[needs(Dcmtk)]
        dcmtk_echoscu_is_refused_by_calling_ae_title_unless_echo_from_anyone,
        the_rejection_pdu_carries_permanent_service_user_and_the_rule_s_reason,
        #[needs(Ipv6Loopback)]
        ipv6_peers_are_admitted_by_ipv6_networks_only,
    ]
}

/// A-ASSOCIATE-RJ Result 1 "rejected-permanent" and Source 1 "DICOM UL service-user"
/// (PS3.8 Table 9-21).
const PERMANENT: u8 = 1;
const SERVICE_USER: u8 = 1;
/// Reasons of source 1: "no-reason-given", "calling-AE-title-not-recognized",
/// "called-AE-title-not-recognized".
const NO_REASON_GIVEN: u8 = 1;
const CALLING_AE_NOT_RECOGNIZED: u8 = 3;
const CALLED_AE_NOT_RECOGNIZED: u8 = 7;

const VERIFICATION: &str = "1.2.840.10008.1.1";
const GRAY_META: &str = "1.2.840.10008.5.1.1.9";

/// The embedded default's queue with `rules` added, and `server` lines under [server].
fn config(server: &str, rules: &str) -> String {
    format!("[server]\n{server}\n[[queue]]\nname = \"default\"\n{rules}\n")
}

/// Runs tests/peers/pynet_print.py from `source` with calling AE title `calling`.
fn pynet(server: &Server, source: &str, calling: &str, scenario: &str) -> Value {
    let script = common::repo_root().join("tests/peers/pynet_print.py");
    let port = server.port.to_string();
    let out = common::output_within(
        Command::new("python3").arg(&script).args([
            "--port",
            &port,
            "--ae",
            "FILMD",
            "--calling-ae",
            calling,
            "--bind",
            source,
            "--timeout",
            "20",
            "--scenario",
            scenario,
        ]),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "pynet_print.py {scenario} from {source}: no JSON ({e})\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The scenario ran to the end with every status success.
fn assert_served(server: &Server, r: &Value, what: &str) {
    assert!(
        r["ok"] == true && r["associations"][0]["established"] == true,
        "{what}: {}\nassociations: {}\nfilmd log:\n{}",
        r["mismatches"],
        r["associations"],
        server.log_text()
    );
}

/// The association was rejected with exactly these A-ASSOCIATE-RJ fields.
fn assert_rejected(server: &Server, r: &Value, reason: u8, what: &str) {
    let a = &r["associations"][0];
    assert_eq!(
        a["rejected"],
        true,
        "{what}: {a}\nfilmd log:\n{}",
        server.log_text()
    );
    assert_eq!(
        (&a["result"], &a["source"], &a["reason"]),
        (
            &Value::from(PERMANENT),
            &Value::from(SERVICE_USER),
            &Value::from(reason)
        ),
        "{what}: result, source, reason"
    );
}

/// The log line of a refusal names the address, the calling and called AE titles and
/// the rule.
fn assert_refusal_logged(server: &Server, source: &str, calling: &str, rule: &str) {
    let log = server.log_text();
    let line = log
        .lines()
        .find(|l| {
            l.contains("refused by the access rules")
                && l.contains(&format!("peer={source}:"))
                && l.contains(&format!("calling={calling} "))
        })
        .unwrap_or_else(|| panic!("no refusal of {calling} from {source} logged:\n{log}"));
    assert!(line.contains("called=FILMD"), "{line}");
    assert!(line.contains(rule), "{line}");
    assert!(line.contains("WARN"), "{line}");
}

fn calling_ae_titles_no_pattern_allows_are_rejected_with_reason_3() {
    let server = Server::start_with(&[], Some(&config("", "allow_calling = [\"CT1\", \"MR*\"]")));
    let r = pynet(&server, "127.0.0.1", "MR_ROOM2", "print");
    assert_served(&server, &r, "MR_ROOM2 matches MR*");
    assert_eq!(server.wait_pdfs(1).len(), 1);
    // No allow_from: any source address.
    assert_served(
        &server,
        &pynet(&server, "127.0.0.2", "CT1", "echo"),
        "CT1 from 127.0.0.2",
    );
    for calling in ["CT2", "ct1", "XMR"] {
        let r = pynet(&server, "127.0.0.1", calling, "echo");
        assert_rejected(&server, &r, CALLING_AE_NOT_RECOGNIZED, calling);
    }
    assert_refusal_logged(
        &server,
        "127.0.0.1",
        "CT2",
        "calling AE title \"CT2\" matches no allow_calling pattern",
    );
    assert_eq!(server.pdfs().len(), 1);
}

fn source_addresses_outside_allow_from_are_rejected_with_reason_1() {
    let server = Server::start_with(
        &[],
        Some(&config(
            "",
            "allow_from = [\"127.0.0.1/32\", \"127.0.0.2/32\"]\nallow_calling = [\"CT1\"]",
        )),
    );
    let r = pynet(&server, "127.0.0.2", "CT1", "print");
    assert_served(&server, &r, "CT1 from 127.0.0.2");
    assert_eq!(server.wait_pdfs(1).len(), 1);
    let r = pynet(&server, "127.0.0.3", "CT1", "echo");
    assert_rejected(&server, &r, NO_REASON_GIVEN, "CT1 from 127.0.0.3");
    // The address is checked first: a wrong calling AE title from a refused address gets
    // reason 1, from an allowed one reason 3.
    let r = pynet(&server, "127.0.0.3", "NOBODY", "print");
    assert_rejected(&server, &r, NO_REASON_GIVEN, "NOBODY from 127.0.0.3");
    let r = pynet(&server, "127.0.0.2", "NOBODY", "echo");
    assert_rejected(
        &server,
        &r,
        CALLING_AE_NOT_RECOGNIZED,
        "NOBODY from 127.0.0.2",
    );
    assert_refusal_logged(
        &server,
        "127.0.0.3",
        "NOBODY",
        "source address 127.0.0.3 is not in allow_from",
    );
    assert_eq!(server.pdfs().len(), 1);
}

fn echo_from_anyone_admits_verification_only_associations() {
    let server = Server::start_with(
        &[],
        Some(&config(
            "echo_from_anyone = true",
            "allow_from = [\"127.0.0.1/32\"]\nallow_calling = [\"CT1\"]",
        )),
    );
    for (source, calling) in [("127.0.0.3", "NOBODY"), ("127.0.0.1", "NOBODY")] {
        let r = pynet(&server, source, calling, "echo");
        assert_served(&server, &r, &format!("C-ECHO of {calling} from {source}"));
        assert_eq!(r["echo_status"], "0x0000");
    }
    assert!(
        server
            .log_text()
            .contains("admitted for Verification only (echo_from_anyone)")
    );
    // Proposing a print class besides Verification: the rules apply.
    let r = pynet(&server, "127.0.0.3", "CT1", "print");
    assert_rejected(&server, &r, NO_REASON_GIVEN, "print from 127.0.0.3");
    let r = pynet(&server, "127.0.0.1", "NOBODY", "print");
    assert_rejected(&server, &r, CALLING_AE_NOT_RECOGNIZED, "print by NOBODY");
    assert_served(
        &server,
        &pynet(&server, "127.0.0.1", "CT1", "print"),
        "print by CT1 from 127.0.0.1",
    );
    assert_eq!(server.wait_pdfs(1).len(), 1);
}

/// DCMTK's echoscu (by path: `echoscu` on PATH may be pynetdicom's) with `calling`.
fn dcmtk_echoscu(server: &Server, calling: &str) -> (bool, String) {
    let out = common::output_within(
        Command::new("/usr/bin/echoscu").args([
            "-aet",
            calling,
            "-aec",
            "FILMD",
            "127.0.0.1",
            &server.port.to_string(),
        ]),
        common::PEER_DEADLINE,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn dcmtk_echoscu_is_refused_by_calling_ae_title_unless_echo_from_anyone() {
    let rules = "allow_calling = [\"CT?\"]";
    let strict = Server::start_with(&[], Some(&config("", rules)));
    let (ok, text) = dcmtk_echoscu(&strict, "OTHER");
    assert!(!ok, "echoscu -aet OTHER succeeded:\n{text}");
    assert!(
        text.contains("Rejected Permanent") && text.contains("Calling AE Title Not Recognized"),
        "echoscu's report of the rejection:\n{text}"
    );
    let (ok, text) = dcmtk_echoscu(&strict, "CT7");
    assert!(
        ok,
        "echoscu -aet CT7:\n{text}\nfilmd log:\n{}",
        strict.log_text()
    );

    let lenient = Server::start_with(&[], Some(&config("echo_from_anyone = true", rules)));
    let (ok, text) = dcmtk_echoscu(&lenient, "OTHER");
    assert!(
        ok,
        "echoscu -aet OTHER with echo_from_anyone:\n{text}\nfilmd log:\n{}",
        lenient.log_text()
    );
}

/// A TCP connection to `to` whose source address is `from` (a tokio socket can bind
/// before it connects; std's cannot).
fn connect_from(from: IpAddr, to: SocketAddr) -> std::net::TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let stream = rt.block_on(async {
        let socket = if from.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .expect("socket");
        socket.bind(SocketAddr::new(from, 0)).expect("bind");
        socket.connect(to).await.expect("connect")
    });
    let stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Sends an A-ASSOCIATE-RQ from `from` and returns the answer's PDU type and, for an
/// A-ASSOCIATE-RJ, its four bytes after the length: reserved, result, source, reason.
fn associate_raw(from: &str, to: SocketAddr, calling: &str, called: &str) -> (u8, Vec<u8>) {
    let rq = AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.into(),
        called_ae_title: called.into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: [VERIFICATION, GRAY_META]
            .iter()
            .enumerate()
            .map(|(i, a)| PresentationContextProposed {
                id: 2 * i as u8 + 1,
                abstract_syntax: a.to_string(),
                transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
            })
            .collect(),
        user_variables: vec![
            UserVariableItem::MaxLength(16384),
            UserVariableItem::ImplementationClassUID("2.25.1".into()),
        ],
    };
    let mut bytes = Vec::new();
    dicom_ul::write_pdu(&mut bytes, &Pdu::AssociationRQ(rq)).expect("encode");
    let mut s = connect_from(from.parse().expect("address"), to);
    s.write_all(&bytes).expect("send A-ASSOCIATE-RQ");
    let mut header = [0u8; 6];
    s.read_exact(&mut header).expect("an answer PDU");
    let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
    if header[0] != 0x03 {
        return (header[0], Vec::new());
    }
    assert_eq!(len, 4, "A-ASSOCIATE-RJ length");
    let mut body = vec![0u8; 4];
    s.read_exact(&mut body).expect("A-ASSOCIATE-RJ body");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "bytes after the A-ASSOCIATE-RJ: {rest:?}");
    (header[0], body)
}

const A_ASSOCIATE_AC: u8 = 0x02;
const A_ASSOCIATE_RJ: u8 = 0x03;

fn rj(reason: u8) -> (u8, Vec<u8>) {
    (A_ASSOCIATE_RJ, vec![0, PERMANENT, SERVICE_USER, reason])
}

fn the_rejection_pdu_carries_permanent_service_user_and_the_rule_s_reason() {
    let server = Server::start_with(
        &[],
        Some(&config(
            "",
            "allow_from = [\"127.0.0.1/32\"]\nallow_calling = [\"CT1\"]",
        )),
    );
    let to = SocketAddr::from(([127, 0, 0, 1], server.port));
    assert_eq!(
        associate_raw("127.0.0.2", to, "CT1", "FILMD"),
        rj(NO_REASON_GIVEN),
        "source address refused"
    );
    assert_eq!(
        associate_raw("127.0.0.1", to, "CT2", "FILMD"),
        rj(CALLING_AE_NOT_RECOGNIZED),
        "calling AE title refused"
    );
    // An unknown called AE title selects no queue, so no queue's rules: negotiation
    // rejects it for what it is, even from a refused address.
    assert_eq!(
        associate_raw("127.0.0.2", to, "CT1", "NOBODY"),
        rj(CALLED_AE_NOT_RECOGNIZED),
        "unknown called AE title"
    );
    assert_eq!(
        associate_raw("127.0.0.1", to, "CT1", "FILMD").0,
        A_ASSOCIATE_AC,
        "allowed peer\n{}",
        server.log_text()
    );
}

fn ipv6_peers_are_admitted_by_ipv6_networks_only() {
    // Two queues: FILMD allows ::1, V4ONLY allows only IPv4 loopback.
    let server = Server::start_on(
        "[::1]:0",
        &[],
        Some(
            "[[queue]]\nname = \"six\"\nae_titles = [\"FILMD\"]\nallow_from = [\"::1/128\"]\n\
             [[queue]]\nname = \"four\"\nae_titles = [\"V4ONLY\"]\nallow_from = [\"127.0.0.0/8\"]\n",
        ),
    );
    let to = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.port));
    assert_eq!(
        associate_raw("::1", to, "ANY", "FILMD").0,
        A_ASSOCIATE_AC,
        "::1 admitted by ::1/128\n{}",
        server.log_text()
    );
    assert_eq!(
        associate_raw("::1", to, "ANY", "V4ONLY"),
        rj(NO_REASON_GIVEN),
        "::1 is not in 127.0.0.0/8"
    );
    assert!(
        server
            .log_text()
            .contains("source address ::1 is not in allow_from")
    );
}
