//! The client against a scripted peer (dicom-ul's acceptor and filmd's DIMSE codec, in a
//! thread on 127.0.0.1): the command sets it sends, how it reads statuses and reports,
//! and which failures it calls retryable.

use super::*;
use crate::net::dataset as codec;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_ul::ServerAssociationOptions;
use dicom_ul::association::server::ServerAssociation;
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceUserReason, AssociationRJSource,
    PDataValue, PDataValueType, Pdu,
};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

/// The peer's side of one association (also `filmd print`'s scripted Print SCP, in
/// `scu::job::tests`).
pub(crate) struct Peer {
    pub(crate) assoc: ServerAssociation<TcpStream>,
}

impl Peer {
    fn ts(&self, ctx: u8) -> String {
        self.assoc
            .presentation_contexts()
            .iter()
            .find(|c| c.id == ctx)
            .map(|c| c.transfer_syntax.clone())
            .expect("context")
    }

    /// One message: (context, command, data set).
    pub(crate) fn recv(&mut self) -> (u8, Command, Option<InMemDicomObject>) {
        let (mut cmd, mut data, mut command) = (Vec::new(), Vec::new(), None::<Command>);
        loop {
            let Pdu::PData { data: pdvs } = self.assoc.receive().expect("PDU") else {
                panic!("expected P-DATA");
            };
            for pdv in pdvs {
                let ctx = pdv.presentation_context_id;
                match pdv.value_type {
                    PDataValueType::Command => {
                        cmd.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            let c = Command::decode(&cmd).expect("command");
                            if !c.has_data_set {
                                return (ctx, c, None);
                            }
                            command = Some(c);
                        }
                    }
                    PDataValueType::Data => {
                        data.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            let obj = codec::decode(&data, &self.ts(ctx)).expect("data set");
                            return (ctx, command.take().expect("command first"), Some(obj));
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn send(&mut self, ctx: u8, command: Command, data: Option<&InMemDicomObject>) {
        assert!(self.try_send(ctx, command, data), "send");
    }

    /// Sends a message as a command PDU and a data set PDU: false when the client is
    /// gone (it aborted).
    pub(crate) fn try_send(
        &mut self,
        ctx: u8,
        mut command: Command,
        data: Option<&InMemDicomObject>,
    ) -> bool {
        command.has_data_set = data.is_some();
        let mut pdvs = vec![PDataValue {
            presentation_context_id: ctx,
            value_type: PDataValueType::Command,
            is_last: true,
            data: command.encode(),
        }];
        if let Some(d) = data {
            pdvs.push(PDataValue {
                presentation_context_id: ctx,
                value_type: PDataValueType::Data,
                is_last: true,
                data: codec::encode(d, &self.ts(ctx)).expect("encode"),
            });
        }
        pdvs.into_iter()
            .all(|pdv| self.assoc.send(&Pdu::PData { data: vec![pdv] }).is_ok())
    }

    /// Answers a request with a status.
    pub(crate) fn answer(&mut self, ctx: u8, rq: &Command, status: u16, comment: Option<&str>) {
        let rsp = Command {
            command_field: cf::response_for(rq.command_field),
            message_id_being_responded_to: rq.message_id,
            affected_sop_class_uid: rq.sop_class_uid().map(String::from),
            affected_sop_instance_uid: rq.sop_instance_uid().map(String::from),
            status: Some(status),
            error_comment: comment.map(String::from),
            ..Default::default()
        };
        self.send(ctx, rsp, None);
    }

    /// Waits for the A-RELEASE-RQ and answers it.
    pub(crate) fn released(&mut self) {
        match self.assoc.receive() {
            Ok(Pdu::ReleaseRQ) => {
                let _ = self.assoc.send(&Pdu::ReleaseRP);
            }
            other => panic!("expected A-RELEASE-RQ, got {other:?}"),
        }
    }
}

/// A peer accepting `syntaxes` on a free loopback port, running `script` on the one
/// association it takes.
pub(crate) fn peer<T: Send + 'static>(
    syntaxes: &[&str],
    script: impl FnOnce(&mut Peer) -> T + Send + 'static,
) -> (Destination, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut options = ServerAssociationOptions::new()
        .accept_any()
        .ae_title("PACS")
        .with_abstract_syntax(crate::scu::VERIFICATION);
    for s in syntaxes {
        options = options.with_abstract_syntax(s.to_string());
    }
    let handle = std::thread::spawn(move || {
        let (socket, _) = listener.accept().expect("accept");
        let assoc = options.establish(socket).expect("association");
        script(&mut Peer { assoc })
    });
    let dest = Destination {
        ae_title: "PACS".into(),
        host: "127.0.0.1".into(),
        port,
    };
    (dest, handle)
}

fn options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(5),
        dimse_timeout: Duration::from_secs(5),
        ..ClientOptions::new("FILMD")
    }
}

fn instance(uid: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(SECONDARY_CAPTURE),
        ),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(uid)),
        DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from("P1")),
    ])
}

#[test]
fn c_store_sends_class_instance_and_data_set_and_reads_warnings() {
    let (dest, peer) = peer(&[SECONDARY_CAPTURE], |p| {
        for (status, comment) in [(0x0000, None), (0xB007, Some("coerced"))] {
            let (ctx, rq, data) = p.recv();
            assert_eq!(rq.command_field, cf::C_STORE_RQ);
            assert_eq!(
                rq.affected_sop_class_uid.as_deref(),
                Some(SECONDARY_CAPTURE)
            );
            assert_eq!(rq.priority, Some(0));
            let data = data.expect("a data set");
            assert_eq!(
                uid(&data, tags::SOP_INSTANCE_UID),
                rq.affected_sop_instance_uid
            );
            p.answer(ctx, &rq, status, comment);
        }
        p.released();
    });
    let mut s = Session::open(&dest, &options(), &[SECONDARY_CAPTURE]).unwrap();
    assert!(s.accepted(SECONDARY_CAPTURE));
    assert!(!s.accepted(MODALITY_WORKLIST_FIND));
    let ok = s.c_store(&instance("1.2.3.1")).unwrap();
    assert!(!ok.is_warning());
    let warned = s.c_store(&instance("1.2.3.2")).unwrap();
    assert_eq!(
        (warned.status, warned.comment.as_deref()),
        (0xB007, Some("coerced"))
    );
    assert_eq!(
        warned.meaning(),
        "Warning: Data Set Does Not Match SOP Class"
    );
    s.release().unwrap();
    peer.join().unwrap();
}

#[test]
fn c_store_failures_say_whether_to_retry() {
    let (dest, peer) = peer(&[SECONDARY_CAPTURE], |p| {
        for status in [0xA701, 0x0122, 0xA900, 0xC001, 0x0110] {
            let (ctx, rq, _) = p.recv();
            p.answer(ctx, &rq, status, Some("no"));
        }
        p.released();
    });
    let mut s = Session::open(&dest, &options(), &[SECONDARY_CAPTURE]).unwrap();
    for (status, retryable) in [
        (0xA701, true),
        (0x0122, false),
        (0xA900, false),
        (0xC001, false),
        (0x0110, true),
    ] {
        let e = s.c_store(&instance("1.2.3")).unwrap_err();
        assert!(
            matches!(e, ClientError::Status { status: s, .. } if s == status),
            "{e}"
        );
        assert_eq!(e.is_retryable(), retryable, "{e}");
    }
    s.release().unwrap();
    peer.join().unwrap();
}

#[test]
fn a_class_the_peer_did_not_accept_and_a_data_set_without_uids_are_permanent() {
    let (dest, peer) = peer(&[], |p| p.released());
    let mut s = Session::open(&dest, &options(), &[SECONDARY_CAPTURE]).unwrap();
    let e = s.c_store(&instance("1.2.3")).unwrap_err();
    assert_eq!(e, ClientError::NotAccepted(SECONDARY_CAPTURE.into()));
    assert!(!e.is_retryable());
    let e = s.c_store(&InMemDicomObject::new_empty()).unwrap_err();
    assert!(
        matches!(e, ClientError::DataSet(_)) && !e.is_retryable(),
        "{e}"
    );
    s.release().unwrap();
    peer.join().unwrap();
}

fn worklist_item(id: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([DataElement::new(
        tags::PATIENT_ID,
        VR::LO,
        PrimitiveValue::from(id),
    )])
}

#[test]
fn c_find_collects_the_pending_identifiers_and_cancels_beyond_the_bound() {
    let (dest, peer) = peer(&[MODALITY_WORKLIST_FIND], |p| {
        // all matches: three pending, then success
        let (ctx, rq, data) = p.recv();
        assert_eq!(rq.command_field, cf::C_FIND_RQ);
        assert_eq!(
            rq.affected_sop_class_uid.as_deref(),
            Some(MODALITY_WORKLIST_FIND)
        );
        assert_eq!(
            uid(&data.expect("identifier"), tags::PATIENT_ID).as_deref(),
            Some("P*")
        );
        let pending = |rq: &Command, status| Command {
            command_field: cf::C_FIND_RSP,
            message_id_being_responded_to: rq.message_id,
            affected_sop_class_uid: Some(MODALITY_WORKLIST_FIND.into()),
            status: Some(status),
            ..Default::default()
        };
        for (i, status) in [0xFF00, 0xFF01, 0xFF00].into_iter().enumerate() {
            p.send(
                ctx,
                pending(&rq, status),
                Some(&worklist_item(&format!("P{i}"))),
            );
        }
        p.answer(ctx, &rq, 0x0000, None);
        // bounded to one: the second pending one draws a C-CANCEL
        let (ctx, rq, _) = p.recv();
        p.send(ctx, pending(&rq, 0xFF00), Some(&worklist_item("P0")));
        p.send(ctx, pending(&rq, 0xFF00), Some(&worklist_item("P1")));
        let (_, cancel, _) = p.recv();
        assert_eq!(cancel.command_field, cf::C_CANCEL_RQ);
        assert_eq!(cancel.message_id_being_responded_to, rq.message_id);
        p.answer(ctx, &rq, 0xFE00, None);
        // a failure
        let (ctx, rq, _) = p.recv();
        p.answer(ctx, &rq, 0xA700, Some("busy"));
        p.released();
    });
    let mut s = Session::open(&dest, &options(), &[MODALITY_WORKLIST_FIND]).unwrap();
    let query = worklist_item("P*");
    let all = s.c_find(MODALITY_WORKLIST_FIND, &query, 10).unwrap();
    let ids: Vec<_> = all
        .iter()
        .filter_map(|o| uid(o, tags::PATIENT_ID))
        .collect();
    assert_eq!(ids, ["P0", "P1", "P2"]);
    let one = s.c_find(MODALITY_WORKLIST_FIND, &query, 1).unwrap();
    assert_eq!(one.len(), 1);
    let e = s.c_find(MODALITY_WORKLIST_FIND, &query, 10).unwrap_err();
    assert!(e.is_retryable() && e.to_string().contains("0xA700"), "{e}");
    s.release().unwrap();
    peer.join().unwrap();
}

fn report(transaction: &str, committed: &[&str], failed: &[(&str, u16)]) -> InMemDicomObject {
    let item = |uid: &str| {
        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(SECONDARY_CAPTURE),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(uid),
            ),
        ])
    };
    let mut obj = InMemDicomObject::from_element_iter([DataElement::new(
        tags::TRANSACTION_UID,
        VR::UI,
        PrimitiveValue::from(transaction),
    )]);
    obj.put(DataElement::new(
        tags::REFERENCED_SOP_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(committed.iter().map(|u| item(u)).collect::<Vec<_>>()),
    ));
    if !failed.is_empty() {
        let items = failed
            .iter()
            .map(|(u, reason)| {
                let mut i = item(u);
                i.put(DataElement::new(
                    tags::FAILURE_REASON,
                    VR::US,
                    PrimitiveValue::from(*reason),
                ));
                i
            })
            .collect::<Vec<_>>();
        obj.put(DataElement::new(
            tags::FAILED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(items),
        ));
    }
    obj
}

#[test]
fn commitment_is_requested_with_n_action_and_reported_on_the_same_association() {
    let (dest, peer) = peer(&[STORAGE_COMMITMENT_PUSH_MODEL], |p| {
        let (ctx, rq, data) = p.recv();
        assert_eq!(rq.command_field, cf::N_ACTION_RQ);
        assert_eq!(
            rq.requested_sop_class_uid.as_deref(),
            Some(STORAGE_COMMITMENT_PUSH_MODEL)
        );
        assert_eq!(
            rq.requested_sop_instance_uid.as_deref(),
            Some(STORAGE_COMMITMENT_INSTANCE)
        );
        assert_eq!(rq.action_type_id, Some(1));
        let data = data.expect("action information");
        let asked = commitment_result(1, &data).expect("the request reads as a report");
        assert_eq!(asked.transaction_uid, "2.25.42");
        assert_eq!(asked.committed, ["1.2.3.1", "1.2.3.2"]);
        p.answer(ctx, &rq, 0x0000, None);
        let event = Command {
            command_field: cf::N_EVENT_REPORT_RQ,
            message_id: Some(7),
            affected_sop_class_uid: Some(STORAGE_COMMITMENT_PUSH_MODEL.into()),
            affected_sop_instance_uid: Some(STORAGE_COMMITMENT_INSTANCE.into()),
            event_type_id: Some(2),
            ..Default::default()
        };
        p.send(
            ctx,
            event,
            Some(&report("2.25.42", &["1.2.3.1"], &[("1.2.3.2", 0x0112)])),
        );
        let (_, rsp, _) = p.recv();
        assert_eq!(rsp.command_field, cf::N_EVENT_REPORT_RSP);
        assert_eq!(rsp.message_id_being_responded_to, Some(7));
        assert_eq!(rsp.status, Some(0));
        p.released();
    });
    let mut s = Session::open(&dest, &options(), &[STORAGE_COMMITMENT_PUSH_MODEL]).unwrap();
    let refs = [
        (SECONDARY_CAPTURE.to_string(), "1.2.3.1".to_string()),
        (SECONDARY_CAPTURE.to_string(), "1.2.3.2".to_string()),
    ];
    s.request_commitment("2.25.42", &refs).unwrap();
    let result = s.wait_commitment(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(result.transaction_uid, "2.25.42");
    assert_eq!(result.committed, ["1.2.3.1"]);
    assert_eq!(result.failed, [("1.2.3.2".to_string(), 0x0112)]);
    s.release().unwrap();
    peer.join().unwrap();
}

#[test]
fn no_report_within_the_wait_is_none_and_the_association_still_releases() {
    let (dest, peer) = peer(&[STORAGE_COMMITMENT_PUSH_MODEL], |p| {
        let (ctx, rq, _) = p.recv();
        p.answer(ctx, &rq, 0x0000, None);
        p.released();
    });
    let mut s = Session::open(&dest, &options(), &[STORAGE_COMMITMENT_PUSH_MODEL]).unwrap();
    s.request_commitment("2.25.43", &[(SECONDARY_CAPTURE.into(), "1.2.3".into())])
        .unwrap();
    let started = Instant::now();
    assert_eq!(s.wait_commitment(Duration::from_millis(300)).unwrap(), None);
    assert!(started.elapsed() < Duration::from_secs(3));
    s.release().unwrap();
    peer.join().unwrap();
}

#[test]
fn a_silent_peer_times_out_retryably() {
    let (dest, peer) = peer(&[SECONDARY_CAPTURE], |p| {
        let _ = p.recv();
        let _ = p.assoc.receive(); // until the client gives up and aborts
    });
    let opts = ClientOptions {
        dimse_timeout: Duration::from_millis(300),
        ..options()
    };
    let mut s = Session::open(&dest, &opts, &[SECONDARY_CAPTURE]).unwrap();
    let e = s.c_store(&instance("1.2.3")).unwrap_err();
    assert!(
        matches!(e, ClientError::Timeout(_)) && e.is_retryable(),
        "{e}"
    );
    drop(s);
    peer.join().unwrap();
}

/// A listener that answers the A-ASSOCIATE-RQ with an A-ASSOCIATE-RJ.
fn rejecting(result: AssociationRJResult) -> (Destination, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4096];
        let _ = std::io::Read::read(&mut socket, &mut buf);
        let rj = Pdu::AssociationRJ(AssociationRJ {
            result,
            source: AssociationRJSource::ServiceUser(
                AssociationRJServiceUserReason::CalledAETitleNotRecognized,
            ),
        });
        let mut bytes = Vec::new();
        dicom_ul::pdu::write_pdu(&mut bytes, &rj).expect("encode");
        let _ = std::io::Write::write_all(&mut socket, &bytes);
    });
    let dest = Destination {
        ae_title: "PACS".into(),
        host: "127.0.0.1".into(),
        port,
    };
    (dest, handle)
}

#[test]
fn rejections_are_retryable_only_when_transient() {
    for (result, retryable) in [
        (AssociationRJResult::Transient, true),
        (AssociationRJResult::Permanent, false),
    ] {
        let (dest, peer) = rejecting(result);
        let e = Session::open(&dest, &options(), &[SECONDARY_CAPTURE])
            .err()
            .expect("rejected");
        assert!(matches!(e, ClientError::Rejected { .. }), "{e}");
        assert_eq!(e.is_retryable(), retryable, "{e}");
        peer.join().unwrap();
    }
}

#[test]
fn a_refused_connection_is_retryable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dest = Destination {
        ae_title: "PACS".into(),
        host: "127.0.0.1".into(),
        port,
    };
    let e = Session::open(&dest, &options(), &[SECONDARY_CAPTURE])
        .err()
        .expect("refused");
    assert!(
        matches!(e, ClientError::Connect(_)) && e.is_retryable(),
        "{e}"
    );
}

/// The Storage Commitment report of `report` as an N-EVENT-REPORT-RQ command set.
fn commitment_event(message_id: u16, event_type_id: u16) -> Command {
    Command {
        command_field: cf::N_EVENT_REPORT_RQ,
        message_id: Some(message_id),
        affected_sop_class_uid: Some(STORAGE_COMMITMENT_PUSH_MODEL.into()),
        affected_sop_instance_uid: Some(STORAGE_COMMITMENT_INSTANCE.into()),
        event_type_id: Some(event_type_id),
        has_data_set: true,
        ..Default::default()
    }
}

/// A peer that answers the N-ACTION and then sends the report's command PDU, pauses
/// `pause`, and sends its data set PDU.
fn split_report(pause: Duration) -> (Destination, JoinHandle<()>) {
    peer(&[STORAGE_COMMITMENT_PUSH_MODEL], move |p| {
        let (ctx, rq, _) = p.recv();
        p.answer(ctx, &rq, 0x0000, None);
        std::thread::sleep(Duration::from_millis(30));
        let command = PDataValue {
            presentation_context_id: ctx,
            value_type: PDataValueType::Command,
            is_last: true,
            data: commitment_event(9, 1).encode(),
        };
        p.assoc
            .send(&Pdu::PData {
                data: vec![command],
            })
            .expect("send");
        std::thread::sleep(pause);
        let data = PDataValue {
            presentation_context_id: ctx,
            value_type: PDataValueType::Data,
            is_last: true,
            data: codec::encode(&report("2.25.44", &["1.2.3"], &[]), &p.ts(ctx)).expect("encode"),
        };
        p.assoc
            .send(&Pdu::PData { data: vec![data] })
            .expect("send");
        let (_, rsp, _) = p.recv();
        assert_eq!(rsp.command_field, cf::N_EVENT_REPORT_RSP);
        assert_eq!(rsp.message_id_being_responded_to, Some(9));
        p.released();
    })
}

/// Waits for the report in 50 ms slices, as the PACS output does.
fn wait_in_slices(s: &mut Session) -> CommitmentResult {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(r) = s.wait_commitment(Duration::from_millis(50)).unwrap() {
            return r;
        }
    }
    panic!("no report within 10 s");
}

#[test]
fn a_report_split_by_a_pause_longer_than_the_slice_arrives_whole() {
    let (dest, peer) = split_report(Duration::from_millis(300));
    let mut s = Session::open(&dest, &options(), &[STORAGE_COMMITMENT_PUSH_MODEL]).unwrap();
    s.request_commitment("2.25.44", &[(SECONDARY_CAPTURE.into(), "1.2.3".into())])
        .unwrap();
    let result = wait_in_slices(&mut s);
    assert_eq!(result.transaction_uid, "2.25.44");
    assert_eq!(result.committed, ["1.2.3"]);
    s.release().unwrap();
    peer.join().unwrap();
}

#[test]
fn a_report_split_by_a_pause_longer_than_the_dimse_timeout_is_kept_across_waits() {
    let (dest, peer) = split_report(Duration::from_millis(600));
    let opts = ClientOptions {
        dimse_timeout: Duration::from_millis(150),
        ..options()
    };
    let mut s = Session::open(&dest, &opts, &[STORAGE_COMMITMENT_PUSH_MODEL]).unwrap();
    s.request_commitment("2.25.44", &[(SECONDARY_CAPTURE.into(), "1.2.3".into())])
        .unwrap();
    let result = wait_in_slices(&mut s);
    assert_eq!(result.committed, ["1.2.3"]);
    s.release().unwrap();
    peer.join().unwrap();
}

fn pending(rq: &Command) -> Command {
    Command {
        command_field: cf::C_FIND_RSP,
        message_id_being_responded_to: rq.message_id,
        affected_sop_class_uid: Some(MODALITY_WORKLIST_FIND.into()),
        status: Some(0xFF00),
        ..Default::default()
    }
}

#[test]
fn a_worklist_scp_that_ignores_c_cancel_is_aborted() {
    let (dest, peer) = peer(&[MODALITY_WORKLIST_FIND], |p| {
        let (ctx, rq, _) = p.recv();
        p.send(ctx, pending(&rq), Some(&worklist_item("P0")));
        p.send(ctx, pending(&rq), Some(&worklist_item("P1")));
        let (_, cancel, _) = p.recv();
        assert_eq!(cancel.command_field, cf::C_CANCEL_RQ);
        // ignores it: Pending responses until the client gives up
        let mut sent = 0;
        while sent < 10_000 && p.try_send(ctx, pending(&rq), Some(&worklist_item("P"))) {
            sent += 1;
        }
        assert!(sent < 10_000, "the client never aborted");
    });
    let mut s = Session::open(&dest, &options(), &[MODALITY_WORKLIST_FIND]).unwrap();
    let e = s
        .c_find(MODALITY_WORKLIST_FIND, &worklist_item("P*"), 1)
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Protocol(why) if why.contains("after C-CANCEL")),
        "{e}"
    );
    let again = s.c_find(MODALITY_WORKLIST_FIND, &worklist_item("P*"), 1);
    assert!(matches!(again, Err(ClientError::Lost(_))), "{again:?}");
    drop(s);
    peer.join().unwrap();
}

#[test]
fn a_worklist_scp_that_never_ends_is_aborted_at_the_exchange_deadline() {
    let (dest, peer) = peer(&[MODALITY_WORKLIST_FIND], |p| {
        let (ctx, rq, _) = p.recv();
        // a Pending response without an identifier every 100 ms, well within the
        // DIMSE timeout each, for ever
        let mut sent = 0;
        while sent < 200 && p.try_send(ctx, pending(&rq), None) {
            sent += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(sent < 200, "the client never aborted");
    });
    let opts = ClientOptions {
        dimse_timeout: Duration::from_millis(400),
        ..options()
    };
    let mut s = Session::open(&dest, &opts, &[MODALITY_WORKLIST_FIND]).unwrap();
    let started = Instant::now();
    let e = s
        .c_find(MODALITY_WORKLIST_FIND, &worklist_item("P*"), 10)
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&e, ClientError::Protocol(why) if why.contains("no final response within 800ms")),
        "{e}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(s);
    peer.join().unwrap();
}

#[test]
fn a_peer_flooding_events_before_the_response_is_aborted() {
    let (dest, peer) = peer(&[SECONDARY_CAPTURE, STORAGE_COMMITMENT_PUSH_MODEL], |p| {
        let (_, _rq, _) = p.recv();
        let ctx = p
            .assoc
            .presentation_contexts()
            .iter()
            .find(|c| c.abstract_syntax == STORAGE_COMMITMENT_PUSH_MODEL)
            .map(|c| c.id)
            .expect("commitment context");
        let data = report("2.25.45", &["1.2.3"], &[]);
        let mut sent = 0;
        while sent < 10_000 && p.try_send(ctx, commitment_event(sent as u16, 1), Some(&data)) {
            sent += 1;
        }
        assert!(sent < 10_000, "the client never aborted");
    });
    let mut s = Session::open(
        &dest,
        &options(),
        &[SECONDARY_CAPTURE, STORAGE_COMMITMENT_PUSH_MODEL],
    )
    .unwrap();
    let e = s.c_store(&instance("1.2.3")).unwrap_err();
    assert!(
        matches!(&e, ClientError::Protocol(why) if why.contains("more than 64 N-EVENT-REPORTs")),
        "{e}"
    );
    let again = s.c_store(&instance("1.2.4"));
    assert!(matches!(again, Err(ClientError::Lost(_))), "{again:?}");
    drop(s);
    peer.join().unwrap();
}
