//! Flood resistance: connections that never send their A-ASSOCIATE-RQ and a device that
//! leaves associations idle, both from 127.0.0.2, cannot keep a modality on 127.0.0.1
//! from printing.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::scu::*;
use dicom_ul::pdu::{AssociationRQ, Pdu, PresentationContextProposed, UserVariableItem};
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        silent_connections_and_idle_associations_from_one_host_do_not_lock_out_another,
        associations_per_host_are_limited_with_a_transient_rejection,
    ]
}

const OTHER_HOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A TCP connection to filmd from `source`.
fn connect_from(source: Ipv4Addr, port: u16) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(IpAddr::V4(source), 0).into())
        .unwrap();
    socket
        .connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// An A-ASSOCIATE-RQ proposing Verification.
fn verification_rq(calling: &str) -> Vec<u8> {
    let rq = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.into(),
        called_ae_title: "FILMD".into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: vec![PresentationContextProposed {
            id: 1,
            abstract_syntax: "1.2.840.10008.1.1".into(),
            transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
        }],
        user_variables: vec![UserVariableItem::MaxLength(16384)],
    });
    let mut bytes = Vec::new();
    dicom_ul::pdu::write_pdu(&mut bytes, &rq).unwrap();
    bytes
}

/// Associates from `source`; returns the open connection and the answer's first six
/// bytes after the PDU header (type, and for an A-ASSOCIATE-RJ result, source, reason).
fn associate_from(source: Ipv4Addr, port: u16) -> (TcpStream, [u8; 10]) {
    let mut s = connect_from(source, port);
    s.write_all(&verification_rq("IDLE")).unwrap();
    let mut head = [0u8; 10];
    s.read_exact(&mut head).unwrap();
    let length = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let mut rest = vec![0u8; length - 4];
    s.read_exact(&mut rest).unwrap();
    (s, head)
}

const A_ASSOCIATE_AC: u8 = 0x02;
const A_ASSOCIATE_RJ: u8 = 0x03;

fn print_one(port: u16) -> u16 {
    let mut scu = Scu::connect(port, &[GRAY_META]);
    let spec = FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(gray_image(
            64,
            64,
            12,
            "MONOCHROME2",
            &[2048; 64 * 64],
        ))],
    );
    let (status, _) = print_film(&mut scu, &spec);
    scu.release();
    status
}

fn silent_connections_and_idle_associations_from_one_host_do_not_lock_out_another() {
    // The association timeout is far longer than any wait here: a print that succeeds
    // did not wait for the silent connections to time out.
    let config = "[server]\nmax_associations = 32\nmax_associations_per_host = 16\n\
                  max_pending = 64\nassociation_timeout_secs = 600\nidle_timeout_secs = 600\n";
    let server = Server::start_with(&[], Some(config));
    let idle: Vec<_> = (0..16)
        .map(|_| {
            let (s, head) = associate_from(OTHER_HOST, server.port);
            assert_eq!(head[0], A_ASSOCIATE_AC, "idle association accepted");
            s
        })
        .collect();
    let mut silent: Vec<_> = (0..64)
        .map(|_| connect_from(OTHER_HOST, server.port))
        .collect();
    // Let the server accept them all before the modality comes.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(print_one(server.port), 0x0000, "printed from 127.0.0.1");
    assert_eq!(server.wait_pdfs(1).len(), 1);
    let log = server.log_text();
    assert!(
        log.contains("closing the oldest from 127.0.0.2"),
        "the flooding host gave up a pending slot:\n{log}"
    );
    // The oldest silent connection was the one closed, without a reply.
    let mut buf = [0u8; 1];
    silent[0]
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(silent[0].read(&mut buf).unwrap_or(0), 0, "oldest closed");
    // A 17th association from the busy host is refused at once, transiently.
    let (_, head) = associate_from(OTHER_HOST, server.port);
    assert_eq!(
        head[..],
        [A_ASSOCIATE_RJ, 0, 0, 0, 0, 4, 0, 2, 3, 2],
        "A-ASSOCIATE-RJ transient (2), service provider presentation (3), local limit exceeded (2), PS3.8 table 9-21"
    );
    assert!(server.log_text().contains("max_associations_per_host"));
    // The idle ones are still open.
    drop(silent);
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut b = [0u8; 1];
        assert!(
            matches!(s.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
            "idle association still open"
        );
    }
}

fn associations_per_host_are_limited_with_a_transient_rejection() {
    let config = "[server]\nmax_associations_per_host = 2\n";
    let server = Server::start_with(&[], Some(config));
    let (_a, ha) = associate_from(OTHER_HOST, server.port);
    let (_b, hb) = associate_from(OTHER_HOST, server.port);
    assert_eq!((ha[0], hb[0]), (A_ASSOCIATE_AC, A_ASSOCIATE_AC));
    let (_, hc) = associate_from(OTHER_HOST, server.port);
    assert_eq!(hc[0], A_ASSOCIATE_RJ);
    assert_eq!(hc[7..10], [2, 3, 2], "transient, local limit exceeded");
    // Another address is not affected.
    assert_eq!(print_one(server.port), 0x0000);
}
