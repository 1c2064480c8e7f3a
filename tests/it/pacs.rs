//! Films to the PACS, against peers we did not write: Orthanc (Storage SCP, Storage
//! Commitment SCP reporting on an association it opens to filmd, Modality Worklist
//! plugin, REST read-back) and DCMTK (storescp, strict, files checked with `dcmdump +E`;
//! wlmscpfs). A film labelled with an accession number lands with the worklist's patient
//! and study and is committed; an unmatched one is held, assigned by command and stored;
//! an Encapsulated PDF; a PACS away during a job only delays it; a SIGKILL between the
//! C-STORE and the commitment report loses nothing and stores nothing twice.

use crate::common;
use crate::common::harness::{Test, trials};

use common::dcmtk_peers::{StoreScp, Wlmscpfs, WorklistItem};
use common::ipp_peers::free_port;
use common::pacs_jobs::{dcmdump, destination_state, filmd, job_where, pacs_queue, print};
use common::pacs_peers::{Orthanc, OrthancConfig, RemoteModality};
use common::{PEER_DEADLINE, Server, output_within};
use dicom_dictionary_std::tags;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Orthanc)]
        a_film_labelled_with_its_accession_lands_in_orthanc_with_the_worklist_patient_committed,
        #[needs(DcmtkStore)]
        dcmtk_worklist_match_is_stored_and_the_unmatched_film_waits_for_filmd_assign,
        #[needs(DcmtkStore, Poppler)]
        encapsulated_pdf_reaches_storescp_as_the_jobs_pdf,
        #[needs(DcmtkStore)]
        a_pacs_away_during_a_job_delays_it_and_it_is_stored_once_when_back,
        #[needs(Orthanc)]
        sigkill_between_store_and_commitment_report_commits_once_after_restart,
    ]
}

/// An Orthanc serving the worklist item and knowing filmd (AE FILMD) at `filmd_port`.
fn orthanc_with_worklist(items: &[WorklistItem], filmd_port: u16) -> (Orthanc, tempfile::TempDir) {
    let worklists = tempfile::tempdir().unwrap();
    for (n, item) in items.iter().enumerate() {
        common::dcmtk_peers::write_worklist_item(
            item,
            &worklists.path().join(format!("item{n}.wl")),
        )
        .expect("worklist item written");
    }
    let orthanc = Orthanc::start(OrthancConfig {
        worklists: Some(worklists.path().to_path_buf()),
        modalities: vec![RemoteModality::new(
            "filmd",
            "FILMD",
            "127.0.0.1",
            filmd_port,
        )],
        ..Default::default()
    });
    (orthanc, worklists)
}

/// Orthanc's simplified tags of its only instance, once it has one.
fn only_instance(orthanc: &Orthanc) -> (String, Value) {
    let ids = orthanc.wait_instances(1, Duration::from_secs(60));
    assert_eq!(ids.len(), 1, "one instance: {ids:?}");
    let tags = orthanc.simplified_tags(&ids[0]);
    (ids[0].clone(), tags)
}

/// PS3.4 J.3.3 on a new association: Orthanc reports the commitment to filmd's listener.
fn a_film_labelled_with_its_accession_lands_in_orthanc_with_the_worklist_patient_committed() {
    let filmd_port = free_port();
    let item = WorklistItem {
        accession_number: "ACC123".into(),
        ..WorklistItem::sample()
    };
    let (orthanc, _wl) = orthanc_with_worklist(std::slice::from_ref(&item), filmd_port);
    let config = pacs_queue(&format!(
        "store = [\"{pacs}\"]\nstore_commit = true\n\
         identity = ['^(?P<AccessionNumber>ACC\\d+)$']\nworklist = \"{pacs}\"\n",
        pacs = orthanc.destination()
    ));
    let listen = format!("127.0.0.1:{filmd_port}");
    let server = Server::start_with(&["--listen", &listen], Some(&config));
    print(&server, "ACC123");

    let job = job_where(&server, "ACC123", "the job done", |j| j["state"] == "done");
    assert_eq!(destination_state(&job), "committed", "{job:#}");
    let (id, tags) = only_instance(&orthanc);
    for (key, want) in [
        ("PatientName", item.patient_name.as_str()),
        ("PatientID", item.patient_id.as_str()),
        ("PatientBirthDate", item.patient_birth_date.as_str()),
        ("PatientSex", item.patient_sex.as_str()),
        ("StudyInstanceUID", item.study_instance_uid.as_str()),
        ("AccessionNumber", "ACC123"),
        (
            "ReferringPhysicianName",
            item.referring_physician_name.as_str(),
        ),
        (
            "StudyDescription",
            item.requested_procedure_description.as_str(),
        ),
        ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"),
        ("Modality", "OT"),
        ("SeriesDescription", "ACC123"),
        ("InstanceNumber", "1"),
        ("BurnedInAnnotation", "YES"),
        ("PhotometricInterpretation", "MONOCHROME2"),
        // 14×17 in at 100 dpi.
        ("Columns", "1400"),
        ("Rows", "1700"),
        ("NominalScannedPixelSpacing", "0.254\\0.254"),
    ] {
        assert_eq!(tags[key].as_str(), Some(want), "{key} in {tags:#}");
    }
    assert!(
        tags.get("PixelSpacing").is_none(),
        "a film is not patient-scale"
    );
    // The pixels are the composed page: the ramp's 64 steps are on it.
    let file = orthanc.file(&id);
    let obj = dicom_object::from_reader(std::io::Cursor::new(&file[128..])).expect("Part 10");
    let pixels = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    assert_eq!(pixels.len(), 1400 * 1700);
    let mut levels = [false; 256];
    for &p in pixels.iter() {
        levels[p as usize] = true;
    }
    let distinct = levels.iter().filter(|&&l| l).count();
    assert!(distinct >= 32, "the ramp's steps: {distinct} gray levels");
}

/// DCMTK: wlmscpfs answers the worklist, storescp stores (strictly); a film whose label
/// finds no worklist item is held until `filmd assign` gives its identity.
fn dcmtk_worklist_match_is_stored_and_the_unmatched_film_waits_for_filmd_assign() {
    let item = WorklistItem::sample();
    let wl = Wlmscpfs::start("RIS", std::slice::from_ref(&item));
    let store = StoreScp::start("PACS");
    let config = pacs_queue(&format!(
        "store = [\"{}\"]\nidentity = ['^(?P<AccessionNumber>ACC-\\d+)$']\nworklist = \"{}\"\n",
        store.destination(),
        wl.destination()
    ));
    let server = Server::start_with(&[], Some(&config));
    print(&server, "ACC-0001");
    let done = job_where(&server, "ACC-0001", "the matched job done", |j| {
        j["state"] == "done"
    });
    assert_eq!(destination_state(&done), "stored", "{done:#}");
    let files = store.wait_files(1, Duration::from_secs(60));
    let dump = dcmdump(&files[0]);
    assert!(
        dump.contains("Doe^Jane") && dump.contains("PID-0001"),
        "{dump}"
    );
    assert!(dump.contains(&item.study_instance_uid), "{dump}");

    print(&server, "ACC-9999");
    let held = job_where(&server, "ACC-9999", "the unmatched job held", |j| {
        j["held"] == true
    });
    let id = held["id"].as_str().unwrap().to_string();
    assert!(
        held["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("filmd assign")),
        "{held:#}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(store.files().len(), 1, "a held job is not stored");
    let out = filmd(
        &server.data_dir,
        &[
            "assign",
            &id,
            "--patient-id",
            "PID-4242",
            "--patient-name",
            "Roe^Richard",
            "--accession",
            "ACC-9999",
        ],
    );
    assert!(
        out.status.success(),
        "assign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    job_where(&server, "ACC-9999", "the assigned job done", |j| {
        j["state"] == "done"
    });
    let files = store.wait_files(2, Duration::from_secs(60));
    let dumps: Vec<String> = files.iter().map(|f| dcmdump(f)).collect();
    let assigned = dumps
        .iter()
        .find(|d| d.contains("PID-4242"))
        .expect("the assigned film stored");
    assert!(assigned.contains("Roe^Richard") && assigned.contains("ACC-9999"));
}

/// The job's PDF/A as one Encapsulated PDF instance (PS3.3 A.45.1).
fn encapsulated_pdf_reaches_storescp_as_the_jobs_pdf() {
    let store = StoreScp::start("PACS");
    let config = pacs_queue(&format!(
        "store = [\"{}\"]\nstore_as = \"encapsulated-pdf\"\nunmatched = \"send\"\n",
        store.destination()
    ));
    let server = Server::start_with(&[], Some(&config));
    print(&server, "NO IDENTITY");
    job_where(&server, "NO IDENTITY", "the job done", |j| {
        j["state"] == "done"
    });
    let files = store.wait_files(1, Duration::from_secs(60));
    let dump = dcmdump(&files[0]);
    assert!(dump.contains("=EncapsulatedPDFStorage"), "{dump}");
    assert!(dump.contains("application/pdf"), "{dump}");
    let obj = dicom_object::open_file(&files[0]).expect("a DICOM file");
    let pdf = obj
        .element(tags::ENCAPSULATED_DOCUMENT)
        .unwrap()
        .to_bytes()
        .unwrap()
        .into_owned();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let path: PathBuf = store.output_dir().join("extracted.pdf");
    let end = pdf.iter().rposition(|&b| b != 0).map_or(0, |e| e + 1);
    std::fs::write(&path, &pdf[..end]).unwrap();
    let info = output_within(Command::new("pdfinfo").arg(&path), PEER_DEADLINE);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "pdfinfo: {text}");
    assert!(text.contains("Pages:           1"), "{text}");
}

/// A PACS that is away only delays: the destination stays pending with its error, and
/// once the PACS is back the film is stored once.
fn a_pacs_away_during_a_job_delays_it_and_it_is_stored_once_when_back() {
    let port = free_port();
    let destination = format!("PACS@127.0.0.1:{port}");
    let config = pacs_queue(&format!(
        "store = [\"{destination}\"]\nunmatched = \"send\"\n"
    ));
    let server = Server::start_with(&[], Some(&config));
    print(&server, "WAITING");
    let waiting = job_where(&server, "WAITING", "the store failing", |j| {
        j["destinations"][0]["attempts"].as_u64() >= Some(1)
            && !j["destinations"][0]["last_error"].is_null()
    });
    assert_ne!(waiting["state"], "done");
    assert_eq!(destination_state(&waiting), "pending");
    let store = StoreScp::start_on("PACS", port);
    job_where(
        &server,
        "WAITING",
        "the job done once the PACS is back",
        |j| j["state"] == "done",
    );
    let files = store.wait_files(1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(store.files().len(), 1, "stored once: {files:?}");
}

/// The commitment report cannot reach filmd (Orthanc knows it at a port where nothing
/// listens), filmd is killed with the destination `stored`; restarted where Orthanc
/// reports, it asks again and the job is committed, with the instance stored once.
fn sigkill_between_store_and_commitment_report_commits_once_after_restart() {
    let later_port = free_port();
    let (orthanc, _wl) = orthanc_with_worklist(&[], later_port);
    let config = pacs_queue(&format!(
        "store = [\"{}\"]\nstore_commit = true\nunmatched = \"send\"\n",
        orthanc.destination()
    ));
    let mut server = Server::start_with(&[], Some(&config));
    let data_dir = server.data_dir.clone();
    let log = server.log.clone();
    let config_path = server.config_path().expect("config file");
    print(&server, "CRASH");
    let stored = job_where(
        &server,
        "CRASH",
        "the instance stored, report pending",
        |j| destination_state(j) == "stored",
    );
    assert_ne!(stored["state"], "done");
    orthanc.wait_instances(1, Duration::from_secs(30));
    server.kill();

    let listen = format!("127.0.0.1:{later_port}");
    let second = Server::restart_with(
        &data_dir,
        &log,
        &[
            "--listen",
            &listen,
            "--config",
            config_path.to_str().unwrap(),
        ],
    );
    let done = job_where(&second, "CRASH", "the job committed after restart", |j| {
        j["state"] == "done"
    });
    assert_eq!(destination_state(&done), "committed", "{done:#}");
    assert_eq!(orthanc.instances().len(), 1, "stored once");
    drop(_wl);
}
