//! Small interoperability additions seen from real Print SCUs: each queue reports its own
//! printer identity in Printer N-GET and Printer Configuration Retrieval (PS3.4 H.4.6,
//! H.4.11); a queue's `annotation_aliases` make an Annotation Display Format ID such as
//! DCMTK's `ANNOTATION` stand for one of filmd's formats (PS3.3 C.13.3), on that queue
//! only; and the Presentation LUT N-CREATE response carries the created attributes (PS3.4
//! H.4.9.2.1, Table H.4-23). Peers: pynetdicom (tests/peers/pynet_print.py) and DCMTK's
//! dcmpsprt + dcmprscu (tests/peers/dcmtk_print.py).

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::pdf::{PageImage, pages};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Pynetdicom)]
        printer_n_get_reports_each_queues_own_identity,
        #[needs(Pynetdicom)]
        an_annotation_alias_is_accepted_on_its_queue_and_refused_on_another,
        #[needs(Pynetdicom)]
        presentation_lut_n_create_responses_carry_the_created_attributes,
        #[needs(Dcmtk)]
        dcmprscu_prints_with_its_annotation_format_on_a_queue_with_the_alias,
    ]
}

/// Two queues: "ct" (called FILMD) reports the model a modality knows and has DCMTK's
/// format name as an alias; "mr" (called MRFILM) reports `[printer]`'s identity.
const CONFIG: &str = r#"
[printer]
name = "Radiology"
manufacturer = "ACME Imaging"
model = "Laser 1"
serial_number = "S-1"

[[queue]]
name = "ct"
ae_titles = ["FILMD"]
printer_name = "DRYVIEW 5950 CT"
manufacturer = "Carestream Health"
model = "DRYVIEW 5950"
serial_number = "59501234"
software_versions = "5.0.1\\FW 12"
annotation_aliases = { ANNOTATION = "TOP_BOTTOM" }

[[queue]]
name = "mr"
ae_titles = ["MRFILM"]
"#;

/// Runs pynet_print.py against the queue called `ae`; returns its JSON report.
fn pynet(server: &Server, ae: &str, args: &[&str]) -> Value {
    let script = common::repo_root().join("tests/peers/pynet_print.py");
    let out = common::output_within(
        Command::new("python3")
            .arg(&script)
            .args(["--port", &server.port.to_string(), "--ae", ae])
            .args(["--timeout", "20"])
            .args(args),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "pynet_print.py {args:?}: no JSON ({e}); stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn pynet_ok(server: &Server, ae: &str, args: &[&str]) -> Value {
    let r = pynet(server, ae, args);
    assert!(
        r["ok"] == true,
        "pynet_print.py {args:?} on {ae} not ok: {}\nresponses: {}\nfilmd log:\n{}",
        r["mismatches"],
        r["responses"],
        server.log_text()
    );
    r
}

fn printer_n_get_reports_each_queues_own_identity() {
    let server = Server::start_with(&[], Some(CONFIG));
    let ct = pynet_ok(&server, "FILMD", &["--scenario", "printer"]);
    let printer = &ct["printer"];
    assert_eq!(printer["PrinterName"], "DRYVIEW 5950 CT", "{printer}");
    assert_eq!(printer["Manufacturer"], "Carestream Health", "{printer}");
    assert_eq!(
        printer["ManufacturerModelName"], "DRYVIEW 5950",
        "{printer}"
    );
    assert_eq!(printer["DeviceSerialNumber"], "59501234", "{printer}");
    assert_eq!(
        printer["SoftwareVersions"],
        serde_json::json!(["5.0.1", "FW 12"]),
        "two values: {printer}"
    );
    assert_eq!(printer["PrinterStatus"], "NORMAL", "{printer}");
    let config = &ct["printer_configuration"]["PrinterConfigurationSequence"][0];
    assert_eq!(config["Manufacturer"], "Carestream Health", "{config}");
    assert_eq!(config["ManufacturerModelName"], "DRYVIEW 5950", "{config}");
    assert_eq!(config["PrinterName"], "DRYVIEW 5950 CT", "{config}");

    let mr = pynet_ok(&server, "MRFILM", &["--scenario", "printer"]);
    let printer = &mr["printer"];
    assert_eq!(printer["PrinterName"], "Radiology mr", "{printer}");
    assert_eq!(printer["Manufacturer"], "ACME Imaging", "{printer}");
    assert_eq!(printer["ManufacturerModelName"], "Laser 1", "{printer}");
    assert_eq!(printer["DeviceSerialNumber"], "S-1", "{printer}");
    assert_eq!(
        printer["SoftwareVersions"],
        format!("filmd {}", env!("CARGO_PKG_VERSION")),
        "{printer}"
    );
    let config = &mr["printer_configuration"]["PrinterConfigurationSequence"][0];
    assert_eq!(config["ManufacturerModelName"], "Laser 1", "{config}");
    assert_eq!(config["PrinterName"], "Radiology mr", "{config}");
}

/// Pixels of the middle third of the top and of the bottom band (3 % of the height) that
/// differ from the black border: where TOP_BOTTOM burns its two texts.
fn text_in_bands(page: &PageImage) -> (usize, usize) {
    let (w, h) = (page.width_px, page.height_px);
    let band = h * 3 / 100;
    let count = |y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (w / 3..2 * w / 3).map(move |x| (x, y)))
            .filter(|&(x, y)| page.at(x, y)[0] != 0)
            .count()
    };
    (count(0, band), count(h - band, h))
}

fn an_annotation_alias_is_accepted_on_its_queue_and_refused_on_another() {
    let server = Server::start_with(&[], Some(CONFIG));
    let args = [
        "--scenario",
        "annotation",
        "--annotation-format",
        "ANNOTATION",
        "--text",
        "TOP TEXT|BOTTOM TEXT",
        "--filmsize",
        "8INX10IN",
        "--border",
        "BLACK",
    ];
    let ct = pynet_ok(&server, "FILMD", &args);
    let film_box = &ct["film_boxes"][0];
    assert_eq!(
        film_box["annotation_boxes"].as_array().map(Vec::len),
        Some(2),
        "TOP_BOTTOM has two positions: {film_box}"
    );
    assert_eq!(
        film_box["attributes"]["AnnotationDisplayFormatID"], "ANNOTATION",
        "the ID is echoed as the SCU sent it: {film_box}"
    );
    let pdfs = server.wait_pdfs(1);
    let page = &pages(&pdfs[0])[0];
    let (top, bottom) = text_in_bands(page);
    assert!(
        top > 100 && bottom > 100,
        "text burned in the top ({top} pixels) and bottom ({bottom}) bands"
    );

    // The queue without the alias answers as for any unknown ID: 0x0106 (pynetdicom's
    // N-CREATE status has no Offending Element to show, the Error Comment names the ID).
    let mr = pynet(&server, "MRFILM", &args);
    let film_box_create = mr["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"] == "N-CREATE" && r["sop_class"] == "BasicFilmBox")
        .unwrap_or_else(|| panic!("no film box N-CREATE: {}", mr["responses"]));
    assert_eq!(film_box_create["status"], "0x0106", "{film_box_create}");
    assert!(
        film_box_create["error_comment"]
            .as_str()
            .is_some_and(|c| c.contains("ANNOTATION") && c.contains("queue mr")),
        "{film_box_create}"
    );
    // Only the film of the aliased queue was printed: the other never reached an
    // N-ACTION (its film box was refused), so no job of its can follow.
    assert_eq!(server.wait_pdfs(1).len(), 1);
}

fn presentation_lut_n_create_responses_carry_the_created_attributes() {
    let server = Server::start_with(&[], Some(CONFIG));
    for (shape, want) in [("IDENTITY", "IDENTITY"), ("LIN OD", "LIN OD")] {
        let r = pynet_ok(&server, "FILMD", &["--scenario", "print", "--plut", shape]);
        let created = &r["presentation_lut_attributes"];
        assert_eq!(created["PresentationLUTShape"], want, "{created}");
        assert!(
            created.get("PresentationLUTSequence").is_none(),
            "{created}"
        );
        let plut = r["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["op"] == "N-CREATE" && x["sop_class"] == "PresentationLUT")
            .unwrap_or_else(|| panic!("{}", r["responses"]));
        assert_eq!(plut["status"], "0x0000", "{plut}");
        assert!(
            plut["rsp_instance_uid"]
                .as_str()
                .is_some_and(|u| u.starts_with("2.25.")),
            "Affected SOP Instance UID assigned by filmd: {plut}"
        );
    }
    for bits in ["8", "12"] {
        let r = pynet_ok(
            &server,
            "FILMD",
            &["--scenario", "print", "--plut", "table", "--bits", bits],
        );
        let created = &r["presentation_lut_attributes"];
        assert!(created.get("PresentationLUTShape").is_none(), "{created}");
        let item = &created["PresentationLUTSequence"][0];
        let entries = if bits == "8" { 256 } else { 4096 };
        assert_eq!(
            item["LUTDescriptor"],
            serde_json::json!([entries, 0, 12]),
            "as received: {item}"
        );
        // pydicom reads LUT Data as US values, or as OW bytes when the VR is ambiguous.
        let data = &item["LUTData"];
        match data.as_array() {
            Some(values) => {
                assert_eq!(values.len(), entries);
                assert_eq!(
                    (&values[0], &values[entries - 1]),
                    (&0.into(), &4095.into())
                );
            }
            None => assert_eq!(
                data.as_str(),
                Some(format!("<{} bytes>", 2 * entries).as_str())
            ),
        }
    }
    assert_eq!(server.wait_pdfs(4).len(), 4);
}

/// Runs dcmtk_print.py against `server` in `workdir`, returning its JSON report.
fn dcmtk_print(server: &Server, workdir: &Path, args: &[&str]) -> Value {
    let out = common::output_within(
        Command::new("python3")
            .arg(common::repo_root().join("tests/peers/dcmtk_print.py"))
            .args(["--port", &server.port.to_string(), "--ae", "FILMD"])
            .args(["--timeout", "30", "--rows", "64", "--cols", "64"])
            .arg("--workdir")
            .arg(workdir)
            .args(args),
        common::PEER_DEADLINE,
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "dcmtk_print.py {args:?}: no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn dcmprscu_prints_with_its_annotation_format_on_a_queue_with_the_alias() {
    let server = Server::start_with(&[], Some(CONFIG));
    let work = tempfile::tempdir().expect("tempdir");
    let r = dcmtk_print(
        &server,
        work.path(),
        &[
            "--layout",
            "1",
            "1",
            "--filmsize",
            "8INX10IN",
            "--border",
            "BLACK",
            "--annotation",
            "DCMTK ANNOTATION",
        ],
    );
    let log = std::fs::read_to_string(work.path().join("dcmprscu.log")).unwrap_or_default();
    assert!(
        r["ok"] == true,
        "dcmtk_print.py not ok: {}\nstatuses: {}\ndcmprscu log:\n{log}\nfilmd log:\n{}",
        r["reason"],
        r["statuses"],
        server.log_text()
    );
    let statuses: Vec<(String, String, String)> = r["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().unwrap_or("").to_string();
            (field("op"), field("sop_class"), field("status"))
        })
        .collect();
    let has = |op: &str, class: &str| {
        statuses
            .iter()
            .any(|(o, c, s)| o == op && c.contains(class) && s == "0x0000")
    };
    assert!(has("N-CREATE", "FilmBox"), "{statuses:?}");
    assert!(
        has("N-SET", "AnnotationBox"),
        "the annotation box of ANNOTATION was set: {statuses:?}\n{log}"
    );
    assert!(
        has("N-CREATE", "PresentationLUT"),
        "dcmprscu took the Presentation LUT N-CREATE response with its data set: {statuses:?}"
    );
    assert!(has("N-ACTION", "FilmBox"), "{statuses:?}");
    let pdfs = server.wait_pdfs(1);
    let (top, _) = text_in_bands(&pages(&pdfs[0])[0]);
    assert!(
        top > 100,
        "DCMTK's annotation burned in the top band ({top} pixels)"
    );
}
