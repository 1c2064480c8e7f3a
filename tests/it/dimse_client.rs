//! filmd's DIMSE client (`filmd::backend::dimse`) against DCMTK's own SCPs: a Secondary
//! Capture stored by C-STORE lands as a file in storescp's directory with its values, a
//! worklist item written by dump2dcm comes back from wlmscpfs by C-FIND, and their
//! refusals read as the client says (permanent or retryable).
//!
//! storescp and wlmscpfs bind the wildcard address; here they run under a small
//! LD_PRELOAD shim, compiled with cc, that turns a wildcard bind into a loopback one.
//! This private starter stands in until tests/it/common/pacs_peers.rs (helper D) lands.

use crate::common::harness::{Test, trials};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::backend::dimse::{
    ClientError, ClientOptions, Destination, MODALITY_WORKLIST_FIND, STORAGE_COMMITMENT_PUSH_MODEL,
    Session,
};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(DcmtkStore)]
        c_store_of_a_secondary_capture_lands_in_storescp_with_its_values,
        #[needs(DcmtkStore)]
        c_find_returns_the_worklist_item_wlmscpfs_holds,
    ]
}

const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

/// The shim: `bind()` of 0.0.0.0 or :: becomes 127.0.0.1 or ::1; every other bind is
/// left alone.
const BIND_LOOPBACK_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static bind_fn next = 0;
    if (!next) next = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in v4;
        memcpy(&v4, addr, sizeof v4);
        if (v4.sin_addr.s_addr == htonl(INADDR_ANY)) {
            v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return next(fd, (const struct sockaddr *)&v4, sizeof v4);
        }
    }
    if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 v6;
        memcpy(&v6, addr, sizeof v6);
        if (memcmp(&v6.sin6_addr, &in6addr_any, sizeof v6.sin6_addr) == 0) {
            v6.sin6_addr = in6addr_loopback;
            return next(fd, (const struct sockaddr *)&v6, sizeof v6);
        }
    }
    return next(fd, addr, len);
}
"#;

/// The shim's shared object, built once per test process.
fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("dimse_client_shim_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("shim dir");
        let src = dir.join("bind_loopback.c");
        let so = dir.join("bind_loopback.so");
        std::fs::write(&src, BIND_LOOPBACK_C).expect("write shim");
        let out = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&so)
            .arg(&src)
            .arg("-ldl")
            .output()
            .expect("run cc");
        assert!(
            out.status.success(),
            "cc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        so
    })
}

/// A DCMTK SCP on 127.0.0.1 (through the shim), stopped by its PID when dropped.
struct Daemon {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Daemon {
    /// Runs `program` with `args` and the port last; ready once the port takes a
    /// connection.
    fn start(program: &str, args: &[&str], workdir: &Path) -> Daemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = workdir.join(format!("{program}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(program)
            .args(args)
            .arg(port.to_string())
            .current_dir(workdir)
            .env("LD_PRELOAD", shim())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let mut daemon = Daemon { child, port, log };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("{program} exited ({status}): {}", daemon.log_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{program} never listened on 127.0.0.1:{port}: {}",
                daemon.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon.assert_loopback_only();
        daemon
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The shim did its job: the port listens on 127.0.0.1, not on 0.0.0.0 or ::.
    fn assert_loopback_only(&self) {
        let port = format!(":{:04X}", self.port);
        let listening = |table: &str| -> Vec<String> {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() > 3 && f[1].ends_with(&port) && f[3] == "0A").then(|| f[1].into())
                })
                .collect()
        };
        let v4 = listening("/proc/net/tcp");
        let v6 = listening("/proc/net/tcp6");
        assert!(
            v4.iter().all(|a| a.starts_with("0100007F:"))
                && v6
                    .iter()
                    .all(|a| a.starts_with("00000000000000000000000001000000:")),
            "listening beyond loopback: {v4:?} {v6:?}"
        );
    }

    fn destination(&self, ae: &str) -> Destination {
        format!("{ae}@127.0.0.1:{}", self.port)
            .parse()
            .expect("destination")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(10),
        dimse_timeout: Duration::from_secs(10),
        ..ClientOptions::new("FILMD")
    }
}

fn element(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A small Secondary Capture Image (PS3.3 A.8.1): 8×8 MONOCHROME2, 8 bits.
fn secondary_capture(instance: &str) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        element(tags::SOP_CLASS_UID, VR::UI, SECONDARY_CAPTURE),
        element(tags::SOP_INSTANCE_UID, VR::UI, instance),
        element(tags::STUDY_DATE, VR::DA, "20260101"),
        element(tags::STUDY_TIME, VR::TM, "120000"),
        element(tags::ACCESSION_NUMBER, VR::SH, "ACC001"),
        element(tags::MODALITY, VR::CS, "OT"),
        element(tags::CONVERSION_TYPE, VR::CS, "WSD"),
        element(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        element(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
        element(tags::PATIENT_ID, VR::LO, "PAT001"),
        element(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        element(tags::PATIENT_SEX, VR::CS, ""),
        element(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.1001"),
        element(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.1002"),
        element(tags::STUDY_ID, VR::SH, ""),
        element(tags::SERIES_NUMBER, VR::IS, "1"),
        element(tags::INSTANCE_NUMBER, VR::IS, "1"),
        element(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
    ]);
    for (tag, v) in [
        (tags::SAMPLES_PER_PIXEL, 1u16),
        (tags::ROWS, 8),
        (tags::COLUMNS, 8),
        (tags::BITS_ALLOCATED, 8),
        (tags::BITS_STORED, 8),
        (tags::HIGH_BIT, 7),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    }
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from((0..64u8).map(|i| i * 4).collect::<Vec<u8>>()),
    ));
    obj
}

/// `dcmdump +P tag file`'s value of one attribute, e.g. `[PAT001]` → `PAT001`.
fn dcmdump_value(file: &Path, tag: &str) -> String {
    let out = Command::new("dcmdump")
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
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("received");
    std::fs::create_dir(&out).expect("out dir");
    let out_arg = out.display().to_string();
    let scp = Daemon::start(
        "storescp",
        &["-aet", "STORESCP", "-od", &out_arg],
        dir.path(),
    );

    let mut s = Session::open(
        &scp.destination("STORESCP"),
        &options(),
        &[SECONDARY_CAPTURE, STORAGE_COMMITMENT_PUSH_MODEL],
    )
    .expect("association with storescp");
    assert!(s.accepted(SECONDARY_CAPTURE));
    let instance = "2.25.1003";
    let stored = s.c_store(&secondary_capture(instance)).expect("C-STORE");
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

    let files: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("read out dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(instance))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "stored files: {files:?}; {}",
        scp.log_text()
    );
    assert_eq!(dcmdump_value(&files[0], "0010,0020"), "PAT001");
    assert_eq!(dcmdump_value(&files[0], "0010,0010"), "Doe^Jane");
    assert_eq!(dcmdump_value(&files[0], "0008,0018"), instance);

    // once storescp is gone, the connection is refused: worth trying again later
    drop(scp);
    let e = Session::open(
        &format!("STORESCP@127.0.0.1:{}", free_port())
            .parse()
            .expect("destination"),
        &options(),
        &[SECONDARY_CAPTURE],
    )
    .err()
    .expect("nobody listens");
    assert!(
        matches!(e, ClientError::Connect(_)) && e.is_retryable(),
        "{e}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The worklist item, as dump2dcm reads it.
const WORKLIST_ITEM: &str = "\
(0008,0005) CS [ISO_IR 100]
(0008,0050) SH [ACC001]
(0008,0090) PN [Ref^Doctor]
(0010,0010) PN [Doe^Jane]
(0010,0020) LO [PAT001]
(0010,0030) DA [19700101]
(0010,0040) CS [F]
(0020,000d) UI [2.25.2001]
(0032,1060) LO [Chest X-ray]
(0040,0100) SQ (Sequence with undefined length)
  (fffe,e000) na (Item with undefined length)
    (0008,0060) CS [DX]
    (0040,0001) AE [FILMD]
    (0040,0002) DA [20260101]
    (0040,0003) TM [0800]
    (0040,0006) PN [Tech^Tom]
    (0040,0007) LO [Chest PA]
    (0040,0009) SH [SPS001]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0040,1001) SH [RP001]
";

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
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("worklists");
    let ae_dir = db.join("WLMSCP");
    std::fs::create_dir_all(&ae_dir).expect("worklist dir");
    std::fs::write(ae_dir.join("lockfile"), b"").expect("lockfile");
    let dump = dir.path().join("item.txt");
    std::fs::write(&dump, WORKLIST_ITEM).expect("dump");
    let made = Command::new("dump2dcm")
        .arg(&dump)
        .arg(ae_dir.join("item1.wl"))
        .output()
        .expect("dump2dcm");
    assert!(
        made.status.success(),
        "dump2dcm: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let db_arg = db.display().to_string();
    let scp = Daemon::start("wlmscpfs", &["-s", "-dfp", &db_arg], dir.path());

    let mut s = Session::open(
        &scp.destination("WLMSCP"),
        &options(),
        &[MODALITY_WORKLIST_FIND],
    )
    .expect("association with wlmscpfs");
    let found = s
        .c_find(MODALITY_WORKLIST_FIND, &worklist_query("PAT001"), 2)
        .expect("C-FIND");
    assert_eq!(found.len(), 1, "{}", scp.log_text());
    let item = &found[0];
    assert_eq!(text(item, tags::PATIENT_NAME), "Doe^Jane");
    assert_eq!(text(item, tags::ACCESSION_NUMBER), "ACC001");
    assert_eq!(text(item, tags::PATIENT_BIRTH_DATE), "19700101");
    assert_eq!(text(item, tags::STUDY_INSTANCE_UID), "2.25.2001");
    assert_eq!(
        text(item, tags::REQUESTED_PROCEDURE_DESCRIPTION),
        "Chest X-ray"
    );
    let step = item
        .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
        .expect("a scheduled procedure step");
    assert_eq!(text(step, tags::MODALITY), "DX");

    let none = s
        .c_find(MODALITY_WORKLIST_FIND, &worklist_query("NOBODY"), 2)
        .expect("C-FIND without match");
    assert!(none.is_empty());
    s.release().expect("A-RELEASE");

    // wlmscpfs serves only the called AE titles its database has directories for
    let e = Session::open(
        &scp.destination("UNKNOWNAE"),
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
        scp.log_text()
    );
}
