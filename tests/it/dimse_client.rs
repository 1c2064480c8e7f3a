//! filmd's DIMSE client (`filmd::backend::dimse`) against DCMTK's own SCPs, started by
//! the shared harness (tests/it/common/dcmtk_peers.rs, on loopback through the bind
//! shim of tests/it/common/pacs_peers.rs): a Secondary Capture stored by C-STORE lands
//! as a file in storescp's directory with its values, a worklist item comes back from
//! wlmscpfs by C-FIND, and their refusals read as the client says (permanent or
//! retryable).

use crate::common::harness::{Test, trials};
use crate::common::pacs_peers::{
    StoreScp, Wlmscpfs, WorklistItem, dcmtk_command, listening_sockets, write_test_image,
};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::backend::dimse::{
    ClientError, ClientOptions, Destination, MODALITY_WORKLIST_FIND, STORAGE_COMMITMENT_PUSH_MODEL,
    Session,
};
use std::path::Path;
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(DcmtkStore)]
        c_store_of_a_secondary_capture_lands_in_storescp_with_its_values,
        #[needs(DcmtkStore)]
        c_find_returns_the_worklist_item_wlmscpfs_holds,
    ]
}

const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

fn options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(10),
        dimse_timeout: Duration::from_secs(10),
        ..ClientOptions::new("FILMD")
    }
}

fn destination(text: &str) -> Destination {
    text.parse()
        .unwrap_or_else(|e| panic!("destination {text}: {e}"))
}

/// The peer (process `pid`) listens on `port`, and on 127.0.0.1 or ::1 only: the shim
/// moved its wildcard bind to loopback.
fn assert_loopback_only(what: &str, pid: u32, port: u16) {
    let listening = listening_sockets(pid);
    assert!(
        listening.iter().any(|a| a.port() == port),
        "{what} does not listen on {port}: {listening:?}"
    );
    assert!(
        listening.iter().all(|a| a.ip().is_loopback()),
        "{what} listens beyond loopback: {listening:?}"
    );
}

/// `dcmdump +P tag file`'s value of one attribute, e.g. `[PAT001]` → `PAT001`.
fn dcmdump_value(file: &Path, tag: &str) -> String {
    let out = dcmtk_command("dcmdump")
        .args(["+P", tag])
        .arg(file)
        .output()
        .expect("dcmdump");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(v, _)| v.to_string())
        .unwrap_or_else(|| panic!("dcmdump +P {tag} {}: {text}", file.display()))
}

fn c_store_of_a_secondary_capture_lands_in_storescp_with_its_values() {
    let scp = StoreScp::start("STORESCP");
    assert_loopback_only("storescp", scp.pid(), scp.port);

    // a small Secondary Capture Image (8×8 MONOCHROME2), read back as the data set to send
    let dir = tempfile::tempdir().expect("tempdir");
    let instance = "2.25.1003";
    let image = dir.path().join("sc.dcm");
    write_test_image(&image, instance, "Doe^Jane", "PAT001").expect("test image");
    let dataset = dicom_object::open_file(&image)
        .expect("read test image")
        .into_inner();

    let mut s = Session::open(
        &destination(&scp.destination()),
        &options(),
        &[SECONDARY_CAPTURE, STORAGE_COMMITMENT_PUSH_MODEL],
    )
    .expect("association with storescp");
    assert!(s.accepted(SECONDARY_CAPTURE));
    let stored = s.c_store(&dataset).expect("C-STORE");
    assert_eq!(stored.status, 0x0000, "{}", stored.meaning());
    // storescp is no Storage Commitment SCP: asking for commitment is refused for good
    assert!(!s.accepted(STORAGE_COMMITMENT_PUSH_MODEL));
    let e = s
        .request_commitment("2.25.1004", &[(SECONDARY_CAPTURE.into(), instance.into())])
        .unwrap_err();
    assert!(
        matches!(e, ClientError::NotAccepted(_)) && !e.is_retryable(),
        "{e}"
    );
    s.release().expect("A-RELEASE");

    scp.wait_files(1, Duration::from_secs(10));
    let files: Vec<_> = scp
        .files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(instance))
        .collect();
    assert_eq!(files.len(), 1, "stored files: {files:?}; {}", scp.log());
    assert_eq!(dcmdump_value(&files[0], "0010,0020"), "PAT001");
    assert_eq!(dcmdump_value(&files[0], "0010,0010"), "Doe^Jane");
    assert_eq!(dcmdump_value(&files[0], "0008,0018"), instance);

    // once storescp is gone, the connection is refused: worth trying again later
    let gone = destination(&scp.destination());
    drop(scp);
    let e = Session::open(&gone, &options(), &[SECONDARY_CAPTURE])
        .err()
        .expect("nobody listens");
    assert!(
        matches!(e, ClientError::Connect(_)) && e.is_retryable(),
        "{e}"
    );
}

fn element(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A worklist query (PS3.4 K.6.1.2) matching on Patient ID, with empty return keys.
fn worklist_query(patient_id: &str) -> InMemDicomObject {
    let step = InMemDicomObject::from_element_iter([
        element(tags::MODALITY, VR::CS, ""),
        element(tags::SCHEDULED_STATION_AE_TITLE, VR::AE, ""),
        element(tags::SCHEDULED_PROCEDURE_STEP_START_DATE, VR::DA, ""),
    ]);
    InMemDicomObject::from_element_iter([
        element(tags::ACCESSION_NUMBER, VR::SH, ""),
        element(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        element(tags::PATIENT_NAME, VR::PN, ""),
        element(tags::PATIENT_ID, VR::LO, patient_id),
        element(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        element(tags::PATIENT_SEX, VR::CS, ""),
        element(tags::STUDY_INSTANCE_UID, VR::UI, ""),
        element(tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO, ""),
        DataElement::new(
            tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![step]),
        ),
    ])
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|v| v.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

fn c_find_returns_the_worklist_item_wlmscpfs_holds() {
    let held = WorklistItem::sample();
    let scp = Wlmscpfs::start("WLMSCP", std::slice::from_ref(&held));
    assert_loopback_only("wlmscpfs", scp.pid(), scp.port);

    let mut s = Session::open(
        &destination(&scp.destination()),
        &options(),
        &[MODALITY_WORKLIST_FIND],
    )
    .expect("association with wlmscpfs");
    let found = s
        .c_find(MODALITY_WORKLIST_FIND, &worklist_query(&held.patient_id), 2)
        .expect("C-FIND");
    assert_eq!(found.len(), 1, "{}", scp.log());
    let item = &found[0];
    assert_eq!(text(item, tags::PATIENT_NAME), held.patient_name);
    assert_eq!(text(item, tags::ACCESSION_NUMBER), held.accession_number);
    assert_eq!(
        text(item, tags::PATIENT_BIRTH_DATE),
        held.patient_birth_date
    );
    assert_eq!(
        text(item, tags::STUDY_INSTANCE_UID),
        held.study_instance_uid
    );
    assert_eq!(
        text(item, tags::REQUESTED_PROCEDURE_DESCRIPTION),
        held.requested_procedure_description
    );
    let step = item
        .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
        .expect("a scheduled procedure step");
    assert_eq!(text(step, tags::MODALITY), held.modality);

    let none = s
        .c_find(MODALITY_WORKLIST_FIND, &worklist_query("NOBODY"), 2)
        .expect("C-FIND without match");
    assert!(none.is_empty(), "{none:?}");
    s.release().expect("A-RELEASE");

    // wlmscpfs serves only the called AE titles its database has directories for
    let e = Session::open(
        &destination(&format!("UNKNOWNAE@127.0.0.1:{}", scp.port)),
        &options(),
        &[MODALITY_WORKLIST_FIND],
    )
    .err()
    .expect("unknown called AE title");
    assert!(
        matches!(
            e,
            ClientError::Rejected {
                permanent: true,
                ..
            }
        ) && !e.is_retryable(),
        "{e}; {}",
        scp.log()
    );
}
