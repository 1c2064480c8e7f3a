//! Bad input: each case gets the standard's status (or an A-ABORT for a broken PDU), filmd
//! stays up, answers C-ECHO afterwards, and other associations do not notice.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::scu::*;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::net::dimse::{Command, command_field as cf};
use filmd::print::uids;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        broken_pdus_are_aborted_and_the_server_stays_up,
        unknown_called_ae_title_is_rejected,
        oversized_pdus_are_tolerated_up_to_the_cap_then_aborted,
        silent_peers_are_disconnected,
        bad_images_get_0106_and_nothing_is_kept,
        malformed_film_boxes_and_unknown_instances_get_the_standard_status,
        associations_beyond_the_limit_are_rejected_transiently,
    ]
}

/// What the server did with a raw byte sequence: the first byte it answered with (0x07 for
/// A-ABORT) or None if it just closed.
fn raw_exchange(port: u16, bytes: &[u8], close_write: bool) -> Option<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    if close_write {
        s.shutdown(Shutdown::Write).unwrap();
    }
    let mut buf = [0u8; 10];
    match s.read(&mut buf) {
        Ok(0) => None,
        Ok(_) => {
            // After the A-ABORT the server closes the connection.
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
            Some(buf[0])
        }
        Err(e) => panic!("server neither answered nor closed: {e}"),
    }
}

fn echo_ok(port: u16) {
    let mut scu = Scu::connect(port, &[]);
    assert_eq!(scu.echo(), 0, "C-ECHO after bad input");
    scu.release();
}

const A_ABORT: u8 = 0x07;

fn broken_pdus_are_aborted_and_the_server_stays_up() {
    let server = Server::start();
    let port = server.port;
    // A bystander association that is in the middle of a film session throughout.
    let mut bystander = Scu::connect(port, &[GRAY_META]);
    let session = "1.2.826.0.1.3680043.10.2.1";
    assert_eq!(
        bystander
            .n_create(
                GRAY_META,
                uids::BASIC_FILM_SESSION,
                Some(session),
                &film_session(1, "bystander")
            )
            .status(),
        0
    );

    // Garbage bytes: 'G' is no PDU type.
    assert_eq!(
        raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false),
        Some(A_ABORT)
    );
    // An unknown PDU type.
    assert_eq!(
        raw_exchange(port, &[0x55, 0, 0, 0, 0, 0], false),
        Some(A_ABORT)
    );
    // A truncated A-ASSOCIATE-RQ: declares 100 bytes, sends 10, then closes its side.
    let mut truncated = vec![0x01, 0, 0, 0, 0, 100];
    truncated.extend_from_slice(&[0u8; 10]);
    assert_eq!(raw_exchange(port, &truncated, true), Some(A_ABORT));
    // A PDU declaring 2 GiB: refused from its header, before any allocation.
    let before = Instant::now();
    assert_eq!(
        raw_exchange(port, &[0x04, 0, 0x80, 0, 0, 0], false),
        Some(A_ABORT)
    );
    assert!(before.elapsed() < Duration::from_secs(5));
    // P-DATA before association.
    let pdata = [0x04, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 3, 0, 0];
    assert_eq!(raw_exchange(port, &pdata, false), Some(A_ABORT));
    // A malformed A-ASSOCIATE-RQ body.
    assert_eq!(
        raw_exchange(port, &[0x01, 0, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef], false),
        Some(A_ABORT)
    );

    echo_ok(port);
    // The bystander never noticed: it prints its film.
    let fb = bystander.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(session, "STANDARD\\1,1", "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(fb.status(), 0);
    let boxes = referenced_uids(
        fb.data.as_ref().unwrap(),
        tags::REFERENCED_IMAGE_BOX_SEQUENCE,
    );
    let img = gray_image(8, 8, 8, "MONOCHROME2", &[100; 64]);
    assert_eq!(
        bystander
            .n_set(
                GRAY_META,
                uids::BASIC_GRAYSCALE_IMAGE_BOX,
                &boxes[0],
                &image_box(1, img, false, &[])
            )
            .status(),
        0
    );
    assert_eq!(
        bystander
            .n_action(GRAY_META, uids::BASIC_FILM_SESSION, session)
            .status(),
        0
    );
    bystander.release();
    assert_eq!(server.wait_pdfs(1).len(), 1);
    let log = server.log_text();
    assert!(log.contains("above the limit"), "the 2 GiB PDU is logged");
    assert!(log.contains("unrecognized PDU type"), "garbage is logged");
}

fn unknown_called_ae_title_is_rejected() {
    let server = Server::start();
    let err = Scu::try_connect(server.port, "NOBODY", &[GRAY_META])
        .err()
        .expect("association must be rejected");
    assert!(err.to_lowercase().contains("reject"), "{err}");
    echo_ok(server.port);
}

fn oversized_pdus_are_tolerated_up_to_the_cap_then_aborted() {
    let config = "[server]\nmax_pdu = 16384\npdu_cap = 65536\n";
    let server = Server::start_with(&[], Some(config));
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let (ctx, _) = scu.context(GRAY_META).unwrap();
    // A film session N-CREATE whose data set travels in one 40 000-byte PDU: larger than
    // the 16 384 advertised, within the cap; filmd accepts it (dicom-ul's strict(false)).
    let label = "x".repeat(39_000);
    let ds = InMemDicomObject::from_element_iter([DataElement::new(
        tags::OWNER_ID,
        VR::SH,
        PrimitiveValue::from("o"),
    )]);
    let mut data = filmd::net::dataset::encode(&ds, "1.2.840.10008.1.2.1").unwrap();
    // Pad with a private element making the PDU large.
    data.extend_from_slice(&[0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
    data.extend_from_slice(&(label.len() as u32).to_le_bytes());
    data.extend_from_slice(label.as_bytes());
    let cmd = Command {
        command_field: cf::N_CREATE_RQ,
        message_id: Some(1),
        affected_sop_class_uid: Some(uids::BASIC_FILM_SESSION.into()),
        has_data_set: true,
        ..Default::default()
    }
    .encode();
    let stream = scu.assoc.as_mut().unwrap().inner_stream();
    let mut out = Vec::new();
    filmd::net::pdu::encode_pdata(ctx, true, true, &cmd, &mut out);
    filmd::net::pdu::encode_pdata(ctx, false, true, &data, &mut out);
    stream.write_all(&out).unwrap();
    let mut head = [0u8; 6];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x04, "a P-DATA response, not an abort");
    let len = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let mut body = vec![0; len];
    stream.read_exact(&mut body).unwrap();
    let pdvs = filmd::net::pdu::parse_pdata(body).unwrap();
    let rsp = Command::decode(&pdvs[0].data).unwrap();
    assert_eq!(
        rsp.status,
        Some(0x0107),
        "the private attribute is ignored with a warning"
    );
    // Beyond the cap: A-ABORT.
    let mut big = Vec::new();
    filmd::net::pdu::encode_pdata(ctx, false, false, &vec![0u8; 70_000], &mut big);
    stream.write_all(&big[..6]).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    // The server may still have one pending data PDU of the response; the last PDU is the abort.
    assert!(
        buf.first() == Some(&A_ABORT) || buf.windows(2).any(|w| w == [A_ABORT, 0]),
        "expected A-ABORT, got {:?}",
        &buf[..buf.len().min(16)]
    );
    drop(scu);
    echo_ok(server.port);
}

fn silent_peers_are_disconnected() {
    let config = "[server]\nassociation_timeout_secs = 1\nidle_timeout_secs = 2\n";
    let server = Server::start_with(&[], Some(config));
    // Connects and says nothing: closed after the association timeout.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without a reply");
    assert!(start.elapsed() < Duration::from_secs(5));
    // Associates, then goes silent: aborted after the idle timeout.
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    std::thread::sleep(Duration::from_secs(3));
    let stream = scu.assoc.as_mut().unwrap().socket();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = [0u8; 10];
    let got = stream.read(&mut head).unwrap_or(0);
    assert!(
        got > 0 && head[0] == A_ABORT,
        "A-ABORT after the idle timeout"
    );
    assert!(server.log_text().contains("idle timeout"));
    echo_ok(server.port);
}

/// A session and film box on a fresh association: (scu, session uid, film box uid, image box uids).
fn film_box_ready(port: u16, format: &str) -> (Scu, String, String, Vec<String>) {
    let mut scu = Scu::connect(port, &[GRAY_META]);
    let session = format!("1.2.826.0.1.3680043.10.2.{}", port);
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(&session),
            &film_session(1, "bad")
        )
        .status(),
        0
    );
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(&session, format, "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(fb.status(), 0);
    let boxes = referenced_uids(
        fb.data.as_ref().unwrap(),
        tags::REFERENCED_IMAGE_BOX_SEQUENCE,
    );
    (
        scu,
        session,
        fb.command.affected_sop_instance_uid.unwrap(),
        boxes,
    )
}

fn bad_images_get_0106_and_nothing_is_kept() {
    let server = Server::start();
    let (mut scu, _, fb_uid, boxes) = film_box_ready(server.port, "STANDARD\\1,1");
    let set = |scu: &mut Scu, image: InMemDicomObject| {
        scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            &boxes[0],
            &image_box(1, image, false, &[]),
        )
    };
    // Pixel data shorter and longer than Rows × Columns × bytes (even lengths: an odd one
    // is padded on the wire).
    let short = image_item(16, 16, 1, "MONOCHROME2", 8, 8, 7, vec![0; 254], None);
    let long = image_item(16, 16, 1, "MONOCHROME2", 8, 8, 7, vec![0; 300], None);
    let short12 = image_item(16, 16, 1, "MONOCHROME2", 16, 12, 11, vec![0; 256], None);
    // Rows = Columns = 65535 with 16 bytes of pixel data.
    let huge = image_item(65535, 65535, 1, "MONOCHROME2", 8, 8, 7, vec![0; 16], None);
    // Unsupported Bits Stored.
    let bits10 = image_item(16, 16, 1, "MONOCHROME2", 16, 10, 9, vec![0; 512], None);
    let rgb_on_gray = image_item(4, 4, 3, "RGB", 8, 8, 7, vec![0; 48], Some(1));
    for (name, img) in [
        ("short", short),
        ("long", long),
        ("short12", short12),
        ("huge", huge),
        ("bits10", bits10),
        ("rgb", rgb_on_gray),
    ] {
        let r = set(&mut scu, img);
        assert_eq!(r.status(), 0x0106, "{name}: {:?}", r.command);
        assert!(r.command.error_comment.is_some(), "{name}: Error Comment");
        assert_eq!(
            r.command.offending_element.len(),
            1,
            "{name}: Offending Element"
        );
    }
    assert_eq!(scu.echo(), 0);
    // Nothing was kept: printing the film box is an empty page, and nothing is printed.
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid)
            .status(),
        0xB603
    );
    scu.release();
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.pdfs().is_empty());
    assert!(
        server.log_text().contains("Pixel Data has 254 bytes"),
        "a clear log line names the problem"
    );
}

fn malformed_film_boxes_and_unknown_instances_get_the_standard_status() {
    let server = Server::start();
    let port = server.port;
    let mut scu = Scu::connect(port, &[GRAY_META]);
    // Film box without a film session.
    let r = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box("1.2.3.4", "STANDARD\\1,1", "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(r.status(), 0x0117);
    // Printing a film session that has no film box.
    let session = "1.2.826.0.1.3680043.10.2.99";
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(session),
            &film_session(1, "x")
        )
        .status(),
        0
    );
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_SESSION, session)
            .status(),
        0xC600
    );
    // A second film session on the association.
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            None,
            &film_session(1, "y")
        )
        .status(),
        0x0111
    );
    // Malformed display formats and an unknown film size.
    for format in [
        "STANDARD\\0,5",
        "BOGUS",
        "STANDARD\\2",
        "ROW\\",
        "STANDARD\\60000,60000",
    ] {
        let r = scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_BOX,
            None,
            &film_box(session, format, "8INX10IN", "PORTRAIT", &[]),
        );
        assert_eq!(r.status(), 0x0106, "{format}");
        assert_eq!(r.command.offending_element, vec![0x2010_0010], "{format}");
    }
    let r = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(session, "STANDARD\\1,1", "15INX15IN", "PORTRAIT", &[]),
    );
    assert_eq!(r.status(), 0x0106);
    assert_eq!(r.command.offending_element, vec![0x2010_0050]);
    // N-SET on unknown instances.
    let img = image_box(1, gray_image(2, 2, 8, "MONOCHROME2", &[0; 4]), false, &[]);
    assert_eq!(
        scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            "1.2.3.4.5",
            &img
        )
        .status(),
        0x0112
    );
    assert_eq!(
        scu.n_set(
            GRAY_META,
            uids::BASIC_FILM_BOX,
            "1.2.3.4.5",
            &InMemDicomObject::new_empty()
        )
        .status(),
        0x0112
    );
    assert_eq!(
        scu.n_set(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            "1.2.3.4.5",
            &InMemDicomObject::new_empty()
        )
        .status(),
        0x0112
    );
    // Empty film box and empty session print: warnings, nothing printed.
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(session, "STANDARD\\2,2", "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(fb.status(), 0);
    let fb_uid = fb.command.affected_sop_instance_uid.unwrap();
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid)
            .status(),
        0xB603
    );
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_SESSION, session)
            .status(),
        0xB602
    );
    // A class outside the meta class of the context, and an unknown action.
    assert_eq!(
        scu.n_set(GRAY_META, uids::BASIC_COLOR_IMAGE_BOX, "1.2.3", &img)
            .status(),
        0x0118
    );
    let mut cmd = Command {
        command_field: cf::N_ACTION_RQ,
        requested_sop_class_uid: Some(uids::BASIC_FILM_BOX.into()),
        requested_sop_instance_uid: Some(fb_uid.clone()),
        action_type_id: Some(7),
        ..Default::default()
    };
    cmd.has_data_set = false;
    assert_eq!(scu.request(GRAY_META, cmd, None).status(), 0x0123);
    // Declared element lengths beyond the bytes received: refused before decoding.
    let cmd = Command {
        command_field: cf::N_SET_RQ,
        requested_sop_class_uid: Some(uids::BASIC_FILM_SESSION.into()),
        requested_sop_instance_uid: Some(session.into()),
        ..Default::default()
    };
    assert_eq!(
        scu.request_raw(
            GRAY_META,
            cmd,
            &[0x8c, 0xf7, 0xf7, 0xf7, 0xf7, 0x78, 0x0b, 0x0b]
        )
        .status(),
        0x0110
    );
    let cmd = Command {
        command_field: cf::N_SET_RQ,
        requested_sop_class_uid: Some(uids::BASIC_FILM_SESSION.into()),
        requested_sop_instance_uid: Some(session.into()),
        ..Default::default()
    };
    let mut lying = vec![0x20, 0x00, 0x50, 0x00, b'L', b'O', 0x00, 0x00];
    lying[6..8].copy_from_slice(&0xFFF0u16.to_le_bytes());
    lying.extend_from_slice(b"label");
    assert_eq!(scu.request_raw(GRAY_META, cmd, &lying).status(), 0x0110);
    assert_eq!(scu.echo(), 0);
    scu.release();
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.pdfs().is_empty(), "nothing printed");
    echo_ok(port);
}

fn associations_beyond_the_limit_are_rejected_transiently() {
    let server = Server::start_with(&[], Some("[server]\nmax_associations = 2\n"));
    let a = Scu::connect(server.port, &[GRAY_META]);
    let b = Scu::connect(server.port, &[GRAY_META]);
    let err = Scu::try_connect(server.port, "FILMD", &[GRAY_META])
        .err()
        .expect("third association rejected");
    assert!(err.to_lowercase().contains("reject"), "{err}");
    assert!(server.log_text().contains("local limit exceeded"));
    a.release();
    // The freed slot is usable again.
    let start = Instant::now();
    loop {
        match Scu::try_connect(server.port, "FILMD", &[]) {
            Ok(mut c) => {
                assert_eq!(c.echo(), 0);
                c.release();
                break;
            }
            Err(_) if start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("slot not freed: {e}"),
        }
    }
    b.release();
}
