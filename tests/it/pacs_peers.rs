//! The PACS peers alone (tests/it/common/pacs_peers.rs, dcmtk_peers.rs), before filmd
//! talks to them: Orthanc, DCMTK storescp and wlmscpfs start on 127.0.0.1 only (the
//! bind shim), answer C-ECHO (PS3.4 A), store (PS3.4 B) and read back over REST, serve
//! the worklist items written here (PS3.4 K), and Orthanc reports Storage Commitment
//! (PS3.4 J.3.3) on a new association it opens to a modality on 127.0.0.1.

use crate::common;
use crate::common::harness::{Test, trials};

use common::ipp_peers::free_port;
use common::pacs_peers::{
    HttpResponse, Orthanc, OrthancConfig, RemoteModality, StoreScp, Wlmscpfs, WorklistItem,
    dcmtk_command, listening_sockets, on_loopback, parse_proc_addr, parse_response,
    write_test_image, write_worklist_item,
};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        proc_net_addresses_and_http_responses_parse,
        #[needs(DcmtkStore)]
        the_shim_moves_wildcard_binds_to_loopback_and_leaves_others_alone,
        #[needs(DcmtkStore)]
        storescp_answers_echo_and_stores_a_file_listening_on_loopback_only,
        #[needs(DcmtkStore)]
        wlmscpfs_returns_the_written_item_for_its_accession_number_only,
        #[needs(Orthanc, DcmtkStore)]
        orthanc_answers_echo_stores_and_gives_the_instance_back_over_rest,
        #[needs(Orthanc, DcmtkStore)]
        orthanc_worklist_plugin_returns_the_written_item,
        #[needs(Orthanc, Pynetdicom)]
        orthanc_reports_storage_commitment_on_a_new_association_to_the_modality,
    ]
}

/// Runs a DCMTK tool to completion (bounded), asserting it succeeded.
fn run(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let out = common::output_within(cmd, common::PEER_DEADLINE);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `dcmdump +E +U8 FILE` (errors on stderr too, values converted to UTF-8 from the
/// file's Specific Character Set, which then reads ISO_IR 192): the dump, asserting no
/// `E:` line.
fn dcmdump(path: &Path) -> String {
    dcmdump_with(path, &["+E", "+U8"])
}

fn dcmdump_with(path: &Path, args: &[&str]) -> String {
    let out = run(dcmtk_command("dcmdump").args(args).arg(path));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.lines().any(|l| l.starts_with("E:")),
        "dcmdump errors in {}:\n{text}",
        path.display()
    );
    text
}

/// Asserts that process `pid` listens on `ports`, all on 127.0.0.1 and nowhere else.
fn assert_loopback_only(what: &str, pid: u32, ports: &[u16]) {
    let listening = listening_sockets(pid);
    for port in ports {
        assert!(
            listening.iter().any(|a| a.port() == *port),
            "{what} does not listen on {port}: {listening:?}"
        );
    }
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert!(
        listening.iter().all(|a| a.ip() == loopback),
        "{what} listens beyond 127.0.0.1: {listening:?}"
    );
}

fn echoscu(called: &str, port: u16) -> Output {
    run(dcmtk_command("echoscu")
        .args(["-aet", "FILMDTEST", "-aec", called, "127.0.0.1"])
        .arg(port.to_string()))
}

fn storescu(called: &str, port: u16, file: &Path) -> Output {
    run(dcmtk_command("storescu")
        .args(["-aet", "FILMDTEST", "-aec", called, "127.0.0.1"])
        .arg(port.to_string())
        .arg(file))
}

/// `findscu -W` for AccessionNumber `accession`, asking for the identity keys filmd
/// asks for; the response files (rsp0001.dcm, ...).
fn find_worklist(called: &str, port: u16, accession: &str, dir: &Path) -> Vec<PathBuf> {
    let out_dir = dir.join(format!("rsp-{accession}"));
    std::fs::create_dir_all(&out_dir).unwrap();
    run(dcmtk_command("findscu")
        .args(["-W", "-X", "-aet", "FILMDTEST", "-aec", called])
        .arg("-od")
        .arg(&out_dir)
        .args(["-k", &format!("AccessionNumber={accession}")])
        .args([
            "-k",
            "PatientName",
            "-k",
            "PatientID",
            "-k",
            "PatientBirthDate",
        ])
        .args(["-k", "PatientSex", "-k", "StudyInstanceUID"])
        .args([
            "-k",
            "ReferringPhysicianName",
            "-k",
            "RequestedProcedureDescription",
        ])
        .args(["-k", "ScheduledProcedureStepSequence[0].Modality"])
        .args([
            "-k",
            "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
        ])
        .args([
            "-k",
            "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
        ])
        .args(["127.0.0.1", &port.to_string()]));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

/// [`find_worklist`]'s responses as UTF-8 `dcmdump` texts.
fn find_worklist_dumps(called: &str, port: u16, accession: &str, dir: &Path) -> Vec<String> {
    let files = find_worklist(called, port, accession, dir);
    files.iter().map(|f| dcmdump(f)).collect()
}

/// Asserts that a dumped worklist response carries `item`'s values.
fn assert_item(dump: &str, item: &WorklistItem) {
    for (keyword, value) in [
        ("PatientName", &item.patient_name),
        ("PatientID", &item.patient_id),
        ("PatientBirthDate", &item.patient_birth_date),
        ("PatientSex", &item.patient_sex),
        ("StudyInstanceUID", &item.study_instance_uid),
        ("AccessionNumber", &item.accession_number),
        ("ReferringPhysicianName", &item.referring_physician_name),
        (
            "RequestedProcedureDescription",
            &item.requested_procedure_description,
        ),
        ("Modality", &item.modality),
        ("ScheduledStationAETitle", &item.scheduled_station_aet),
        ("ScheduledProcedureStepStartDate", &item.start_date),
    ] {
        let expected = format!("[{value}]");
        assert!(
            dump.lines()
                .any(|l| l.contains(&expected) && l.trim_end().ends_with(keyword)),
            "{keyword} {expected} not in the response:\n{dump}"
        );
    }
}

fn proc_net_addresses_and_http_responses_parse() {
    assert_eq!(
        parse_proc_addr("0100007F:2B67"),
        Some(SocketAddr::from(([127, 0, 0, 1], 0x2B67)))
    );
    assert_eq!(
        parse_proc_addr("00000000:0050"),
        Some(SocketAddr::from(([0, 0, 0, 0], 80)))
    );
    assert_eq!(
        parse_proc_addr("00000000000000000000000001000000:1F90"),
        Some("[::1]:8080".parse().unwrap())
    );
    assert_eq!(parse_proc_addr("zz:1"), None);
    let r: HttpResponse =
        parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
    let r = parse_response(
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!((r.status, r.text().as_str()), (404, "abcde"));
    assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
}

fn the_shim_moves_wildcard_binds_to_loopback_and_leaves_others_alone() {
    // Python's socket.bind is libc's bind(): the shim sees it like any C peer's.
    let script = "import socket\n\
        def b(addr):\n\
        \x20   s = socket.socket()\n\
        \x20   s.bind((addr, 0))\n\
        \x20   return s.getsockname()[0]\n\
        print(b('0.0.0.0'), b('127.0.0.2'))\n";
    let out = run(on_loopback("python3").args(["-c", script]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "127.0.0.1 127.0.0.2"
    );
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let script = "import socket\n\
            s = socket.socket(socket.AF_INET6)\n\
            s.bind(('::', 0))\n\
            print(s.getsockname()[0])\n";
        let out = run(on_loopback("python3").args(["-c", script]));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "::1");
    }
}

fn storescp_answers_echo_and_stores_a_file_listening_on_loopback_only() {
    let scp = StoreScp::start("STORE");
    assert_loopback_only("storescp", scp.pid(), &[scp.port]);
    echoscu("STORE", scp.port);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("image.dcm");
    let uid = "1.2.826.0.1.3680043.10.1441.3.1";
    write_test_image(&file, uid, "Store^Test", "PID-STORE").unwrap();
    storescu("STORE", scp.port, &file);
    let files = scp.wait_files(1, Duration::from_secs(20));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].to_string_lossy().ends_with(uid),
        "storescp names the file by its SOP Instance UID: {files:?}"
    );
    let dump = dcmdump(&files[0]);
    assert!(dump.contains("[Store^Test]"), "{dump}");
    assert!(dump.contains(&format!("[{uid}]")), "{dump}");
}

fn wlmscpfs_returns_the_written_item_for_its_accession_number_only() {
    let item = WorklistItem::sample();
    let other = WorklistItem {
        accession_number: "ACC-0002".into(),
        patient_id: "PID-0002".into(),
        patient_name: "Roe^Richard".into(),
        patient_sex: "M".into(),
        ..WorklistItem::sample()
    };
    let wl = Wlmscpfs::start("WORKLIST", &[item.clone(), other.clone()]);
    assert_loopback_only("wlmscpfs", wl.pid(), &[wl.port]);
    echoscu("WORKLIST", wl.port);
    let dir = tempfile::tempdir().unwrap();
    let found = find_worklist_dumps("WORKLIST", wl.port, &item.accession_number, dir.path());
    assert_eq!(
        found.len(),
        1,
        "one item for ACC-0001: {found:?}\n{}",
        wl.log()
    );
    assert_item(&found[0], &item);
    let found = find_worklist_dumps("WORKLIST", wl.port, "ACC-0002", dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_item(&found[0], &other);
    let found = find_worklist_dumps("WORKLIST", wl.port, "NO-SUCH", dir.path());
    assert!(found.is_empty(), "{found:?}");
}

fn orthanc_answers_echo_stores_and_gives_the_instance_back_over_rest() {
    let orthanc = Orthanc::start(OrthancConfig::default());
    assert_loopback_only(
        "Orthanc",
        orthanc.pid(),
        &[orthanc.dicom_port, orthanc.http_port],
    );
    echoscu("ORTHANC", orthanc.dicom_port);
    assert!(orthanc.instances().is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("image.dcm");
    let uid = "1.2.826.0.1.3680043.10.1441.3.2";
    write_test_image(&file, uid, "Orthanc^Test", "PID-ORTHANC").unwrap();
    storescu("ORTHANC", orthanc.dicom_port, &file);
    let ids = orthanc.wait_instances(1, Duration::from_secs(20));
    assert_eq!(ids.len(), 1);
    let tags = orthanc.simplified_tags(&ids[0]);
    assert_eq!(tags["SOPInstanceUID"], uid);
    assert_eq!(tags["PatientName"], "Orthanc^Test");
    assert_eq!(tags["PatientID"], "PID-ORTHANC");
    assert_eq!(tags["SOPClassUID"], "1.2.840.10008.5.1.4.1.1.7");
    assert_eq!(
        orthanc.tags(&ids[0])["0010,0010"]["Value"],
        "Orthanc^Test",
        "full tags"
    );
    let stored = orthanc.file(&ids[0]);
    assert_eq!(stored.get(128..132), Some(&b"DICM"[..]), "a Part-10 file");
    let back = dir.path().join("back.dcm");
    std::fs::write(&back, &stored).unwrap();
    assert!(dcmdump(&back).contains("[Orthanc^Test]"));
    assert_eq!(orthanc.statistics()["CountInstances"], 1);
    // Unknown resources answer 404, not a crash of the client.
    assert_eq!(orthanc.request("GET", "/instances/nope", b"").status, 404);
}

fn orthanc_worklist_plugin_returns_the_written_item() {
    let wl_dir = tempfile::tempdir().unwrap();
    let item = WorklistItem {
        patient_name: "Müller^Jürgen".into(),
        ..WorklistItem::sample()
    };
    write_worklist_item(&item, &wl_dir.path().join("item1.wl")).unwrap();
    let orthanc = Orthanc::start(OrthancConfig {
        aet: "PACS".into(),
        worklists: Some(wl_dir.path().to_path_buf()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let files = find_worklist(
        "PACS",
        orthanc.dicom_port,
        &item.accession_number,
        dir.path(),
    );
    assert_eq!(files.len(), 1, "{files:?}\n{}", orthanc.log());
    assert_item(&dcmdump(&files[0]), &item);
    // The item file says ISO_IR 192; Orthanc answers in its DefaultEncoding (Latin1
    // unless configured), converting the values: a worklist SCU must decode by the
    // Specific Character Set of each response.
    let raw = dcmdump_with(&files[0], &["+E"]);
    assert!(
        raw.lines()
            .any(|l| l.starts_with("(0008,0005) CS [ISO_IR 100]")),
        "{raw}"
    );
    // An item added while Orthanc runs is served at the next query.
    let later = WorklistItem {
        accession_number: "ACC-LATER".into(),
        ..WorklistItem::sample()
    };
    write_worklist_item(&later, &wl_dir.path().join("item2.wl")).unwrap();
    let found = find_worklist_dumps("PACS", orthanc.dicom_port, "ACC-LATER", dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_item(&found[0], &later);
}

/// Orthanc 1.10's Storage Commitment SCP: the N-ACTION is answered at once; the report
/// comes on a NEW association that Orthanc opens to the modality listed in
/// DicomModalities (found by the N-ACTION's Calling AE Title), calling from the AE title
/// the N-ACTION had called, proposing SCU role 0 / SCP role 1 for the Storage Commitment
/// Push Model; never on the requesting association, though it stays open.
fn orthanc_reports_storage_commitment_on_a_new_association_to_the_modality() {
    let listen_port = free_port();
    let orthanc = Orthanc::start(OrthancConfig {
        aet: "PACS".into(),
        modalities: vec![RemoteModality::new("filmd", "FILMD", "127.0.0.1", 9)],
        ..Default::default()
    });
    // The modality's port, known only now, replaces the configured one over REST.
    orthanc.add_modality(&RemoteModality::new(
        "filmd",
        "FILMD",
        "127.0.0.1",
        listen_port,
    ));
    let probe = |called: &str, extra: &[&str]| -> Value {
        let out = run(Command::new("python3")
            .arg(common::repo_root().join("tests/peers/commitment_probe.py"))
            .args([
                "--port",
                &orthanc.dicom_port.to_string(),
                "--called",
                called,
            ])
            .args(["--aet", "FILMD", "--listen-port", &listen_port.to_string()])
            .args(["--wait", "20"])
            .args(extra));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "probe output ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    // DicomCheckCalledAet is off: "OTHER" reaches the same Orthanc, and is the title
    // its report then calls from.
    for (called, extra) in [("PACS", &[][..]), ("OTHER", &["--no-role"][..])] {
        let v = probe(called, extra);
        assert_eq!(v["store_status"], 0, "{v}");
        assert_eq!(v["action_status"], 0, "{v}");
        let reports = v["reports"].as_array().cloned().unwrap_or_default();
        assert_eq!(reports.len(), 1, "one report: {v}\n{}", orthanc.log());
        let r = &reports[0];
        assert_eq!(r["association"], "new", "{v}");
        assert_eq!(r["calling_ae"], called, "{v}");
        assert_eq!(r["called_ae"], "FILMD", "{v}");
        assert_eq!(
            r["role_selection"],
            serde_json::json!([["1.2.840.10008.1.20.1", false, true]]),
            "{v}"
        );
        assert_eq!(
            r["proposed_transfer_syntaxes"],
            serde_json::json!(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]),
            "{v}"
        );
        assert_eq!(r["event_type"], 2, "failures exist: {v}");
        assert_eq!(r["transaction_uid"], v["transaction_uid"]);
        assert_eq!(r["committed"], serde_json::json!([v["stored_uid"]]));
        // 0x0112 No such object instance
        assert_eq!(r["failed"], serde_json::json!([[v["missing_uid"], 0x0112]]));
    }
    // Orthanc's job for each report succeeded: the 0000 answers were understood.
    let start = std::time::Instant::now();
    loop {
        let jobs = orthanc.jobs();
        let states: Vec<String> = jobs
            .as_array()
            .into_iter()
            .flatten()
            .filter(|j| j["Type"] == "StorageCommitmentScp")
            .map(|j| j["State"].as_str().unwrap_or_default().to_string())
            .collect();
        if states == ["Success", "Success"] {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20) && !states.iter().any(|s| s == "Failure"),
            "report jobs: {jobs}\n{}",
            orthanc.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
