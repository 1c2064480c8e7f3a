//! Interoperability with DCMTK's print client (dcmpsprt composes a Stored Print object,
//! dcmprscu sends it; driven by tests/peers/dcmtk_print.py): every film DCMTK prints lands
//! as a correct PDF page.
//!
//! What DCMTK 3.6.7's client can express, and so what is covered here:
//! * Grayscale only. dcmpsprt refuses RGB input ("not MONOCHROME1/2") and dcmprscu proposes
//!   only Basic Grayscale Print Management Meta: DCMTK cannot print colour films, so colour
//!   is covered by tests/it/pynetdicom.rs alone.
//! * 8-bit or 12-bit: dcmpsprt renders every input to a 16/12 "hardcopy grayscale" image
//!   when the target has Supports12Bit = true, to 8/8 (sent with VR OW) otherwise.
//! * Layouts: dcmpsprt writes only `STANDARD\C,R` (its `-l COLS ROWS`; the config's
//!   DisplayFormat is a list of `C,R` pairs, there is no way to name ROW or COL). dcmprscu,
//!   however, sends whatever Image Display Format the Stored Print object holds, so the ROW
//!   and COL films below are dcmpsprt's Stored Print with (2010,0010) rewritten by dcmodify
//!   and sent by dcmprscu unchanged otherwise.
//! * Film box print (N-ACTION on the film box) or session print (`--session-print`); one
//!   film box per Stored Print object, so a session print is one page.
//! * dcmprscu exits 0 even when printing failed: dcmtk_print.py judges its --debug log.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::pdf::{PageImage, pages};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Dcmtk)]
        dcmprscu_prints_12_bit_films_by_film_box_in_standard_row_and_col_portrait_and_landscape,
        #[needs(Dcmtk)]
        dcmprscu_prints_8_bit_films_by_film_box_in_standard_row_and_col_portrait_and_landscape,
        #[needs(Dcmtk)]
        dcmprscu_session_print_of_8_and_12_bit_films_portrait_and_landscape,
    ]
}

fn peers_dir() -> PathBuf {
    common::repo_root().join("tests/peers")
}

/// Runs dcmtk_print.py against the server in `workdir`; returns its JSON report.
fn dcmtk_print(server: &Server, workdir: &Path, args: &[&str]) -> Value {
    let out = common::output_within(
        Command::new("python3")
            .arg(peers_dir().join("dcmtk_print.py"))
            .args([
                "--port",
                &server.port.to_string(),
                "--ae",
                "FILMD",
                "--timeout",
                "30",
                "--rows",
                "64",
                "--cols",
                "64",
                "--workdir",
            ])
            .arg(workdir)
            .args(args),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "dcmtk_print.py {args:?}: no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let log = std::fs::read_to_string(workdir.join("dcmprscu.log")).unwrap_or_default();
    assert!(
        r["ok"] == true,
        "dcmtk_print.py {args:?} not ok: {}\nstatuses: {}\ndcmprscu log:\n{log}\nfilmd log:\n{}",
        r["reason"],
        r["statuses"],
        server.log_text()
    );
    r
}

/// (op, SOP class, status) of every response in the dcmprscu log.
fn statuses(r: &Value) -> Vec<(String, String, String)> {
    r["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["op"].as_str().unwrap_or("").into(),
                s["sop_class"].as_str().unwrap_or("").into(),
                s["status"].as_str().unwrap_or("none").into(),
            )
        })
        .collect()
}

fn assert_printed(r: &Value, session_print: bool, boxes: usize) {
    let st = statuses(r);
    let class = if session_print {
        "BasicFilmSessionSOPClass"
    } else {
        "BasicFilmBoxSOPClass"
    };
    let actions: Vec<_> = st.iter().filter(|(op, _, _)| op == "N-ACTION").collect();
    assert_eq!(actions.len(), 1, "{st:?}");
    assert_eq!(
        (actions[0].1.as_str(), actions[0].2.as_str()),
        (class, "0x0000"),
        "{st:?}"
    );
    let sets = st
        .iter()
        .filter(|(op, c, s)| {
            op == "N-SET" && c == "BasicGrayscaleImageBoxSOPClass" && s == "0x0000"
        })
        .count();
    assert_eq!(sets, boxes, "image box N-SETs: {st:?}");
    assert!(
        st.iter().all(|(_, _, s)| s == "0x0000"),
        "every response a success: {st:?}"
    );
}

/// Re-sends the Stored Print object of an earlier dcmtk_print.py run with its Image Display
/// Format replaced: dcmodify, then dcmprscu --debug, judged like dcmtk_print.py does.
fn resend_with_format(server: &Server, r: &Value, format: &str, session_print: bool) -> Value {
    let workdir = PathBuf::from(r["workdir"].as_str().unwrap());
    let sp = workdir
        .join("db")
        .join(format!("edited-{}.dcm", format.replace(['\\', ','], "_")));
    std::fs::copy(r["stored_print"].as_str().unwrap(), &sp).unwrap();
    let st = Command::new("dcmodify")
        .args(["-nb", "-m", &format!("(2130,0030)[0].(2010,0010)={format}")])
        .arg(&sp)
        .status()
        .unwrap();
    assert!(st.success(), "dcmodify failed");
    let mut cmd = Command::new("dcmprscu");
    cmd.current_dir(&workdir).args([
        "--debug",
        "-c",
        r["config"].as_str().unwrap(),
        "-p",
        "TARGET",
    ]);
    if session_print {
        cmd.arg("--session-print");
    }
    let out = common::output_within(cmd.arg(&sp), common::PEER_DEADLINE);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "dcmprscu exit {:?}\n{log}",
        out.status.code()
    );
    assert!(
        log.contains(&format!("[{format}]")),
        "dcmprscu did not send Image Display Format {format}:\n{log}"
    );
    let logfile = workdir.join(format!("dcmprscu-{}.log", format.replace(['\\', ','], "_")));
    std::fs::write(&logfile, &log).unwrap();
    let parsed = common::output_within(Command::new("python3")
        .current_dir(peers_dir())
        .args(["-c", "import json, sys, dcmtk_print; print(json.dumps(dcmtk_print.parse_log(open(sys.argv[1]).read())))"])
        .arg(&logfile), common::PEER_DEADLINE);
    let p: Value = serde_json::from_slice(&parsed.stdout).unwrap_or_else(|e| {
        panic!(
            "parse_log: {e}: {}",
            String::from_utf8_lossy(&parsed.stderr)
        )
    });
    assert!(p["association_accepted"] == true, "{log}");
    assert!(
        p["errors"].as_array().unwrap().is_empty(),
        "E:/F: lines in the dcmprscu log:\n{log}\nfilmd log:\n{}",
        server.log_text()
    );
    p
}

/// Page size in points (landscape swapped), pixel size at 300 dpi, DeviceGray 8-bit.
fn assert_gray_page(page: &PageImage, film: &str, landscape: bool) {
    let (mut w, mut h) = common::pdf::film_pt(film);
    if landscape {
        std::mem::swap(&mut w, &mut h);
    }
    assert!(
        (page.width_pt - w).abs() < 0.01 && (page.height_pt - h).abs() < 0.01,
        "{film} landscape={landscape}: page {} x {} pt, expected {w} x {h}",
        page.width_pt,
        page.height_pt
    );
    let px = |pt: f64| (pt / 72.0 * 300.0).round() as u32;
    assert_eq!(
        (page.width_px, page.height_px),
        (px(w), px(h)),
        "{film}: pixel size at 300 dpi"
    );
    assert_eq!(
        (page.channels, page.bits_per_component),
        (1, 8),
        "DeviceGray, 8 bits"
    );
}

/// MONOCHROME2 (what dcmprscu sends): a higher value prints lighter, equal values equal.
fn assert_tone_follows(values: &[u32], page: &PageImage, format: &str) {
    let grays: Vec<u8> = common::pdf::centres(format)
        .iter()
        .map(|&(x, y)| page.gray_at(x, y))
        .collect();
    assert_eq!(values.len(), grays.len(), "{format}");
    for i in 0..values.len() {
        for j in 0..values.len() {
            if values[i] < values[j] {
                assert!(
                    grays[i] < grays[j],
                    "{format}: value {} printed {} but {} printed {} (values {values:?}, grays {grays:?})",
                    values[i],
                    grays[i],
                    values[j],
                    grays[j]
                );
            } else if values[i] == values[j] {
                assert_eq!(grays[i], grays[j], "{format}: {grays:?}");
            }
        }
    }
}

/// One composition by dcmpsprt: STANDARD\cols,rows of uniform images.
struct Film {
    cols: usize,
    rows: usize,
    film: &'static str,
    landscape: bool,
    values: Vec<u32>,
    /// Also re-send the same Stored Print object with these Image Display Formats (each with
    /// cols*rows boxes).
    reformat: &'static [&'static str],
}

fn print_with_dcmtk(bits: u32, session_print: bool, films: &[Film]) {
    let server = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    for (i, f) in films.iter().enumerate() {
        let workdir = tmp.path().join(format!("run{i}"));
        let values: Vec<String> = f.values.iter().map(|v| v.to_string()).collect();
        let values = values.join(",");
        let (cols, rows, bits_s) = (f.cols.to_string(), f.rows.to_string(), bits.to_string());
        let mut args = vec![
            "--bits",
            bits_s.as_str(),
            "--layout",
            &cols,
            &rows,
            "--filmsize",
            f.film,
            "--values",
            &values,
        ];
        args.push(if f.landscape {
            "--landscape"
        } else {
            "--portrait"
        });
        if session_print {
            args.push("--session-print");
        }
        let r = dcmtk_print(&server, &workdir, &args);
        assert_printed(&r, session_print, f.values.len());
        let mut printed = vec![(
            format!("STANDARD\\{},{}", f.cols, f.rows),
            server.new_pdfs(&mut seen, 1).remove(0),
        )];
        for format in f.reformat {
            assert_eq!(
                common::pdf::centres(format).len(),
                f.values.len(),
                "{format}"
            );
            let p = resend_with_format(&server, &r, format, session_print);
            let as_value = serde_json::json!({ "statuses": p["statuses"] });
            assert_printed(&as_value, session_print, f.values.len());
            printed.push((format.to_string(), server.new_pdfs(&mut seen, 1).remove(0)));
        }
        for (format, pdf) in printed {
            let p = pages(&pdf);
            assert_eq!(
                p.len(),
                1,
                "{format}: one film box, one page ({})",
                pdf.display()
            );
            assert_gray_page(&p[0], f.film, f.landscape);
            assert_tone_follows(&f.values, &p[0], &format);
        }
    }
}

fn dcmprscu_prints_12_bit_films_by_film_box_in_standard_row_and_col_portrait_and_landscape() {
    print_with_dcmtk(
        12,
        false,
        &[
            Film {
                cols: 2,
                rows: 2,
                film: "14INX17IN",
                landscape: false,
                values: vec![0, 1000, 2000, 4095],
                reformat: &["ROW\\1,3", "COL\\3,1"],
            },
            Film {
                cols: 3,
                rows: 2,
                film: "8INX10IN",
                landscape: true,
                values: vec![4095, 0, 3000, 500, 2500, 1500],
                reformat: &["ROW\\2,4", "COL\\1,2,3"],
            },
        ],
    );
}

fn dcmprscu_prints_8_bit_films_by_film_box_in_standard_row_and_col_portrait_and_landscape() {
    print_with_dcmtk(
        8,
        false,
        &[
            Film {
                cols: 1,
                rows: 2,
                film: "10INX12IN",
                landscape: false,
                values: vec![255, 0],
                reformat: &[],
            },
            Film {
                cols: 3,
                rows: 1,
                film: "14INX17IN",
                landscape: true,
                values: vec![0, 128, 255],
                reformat: &["ROW\\1,2", "COL\\2,1"],
            },
        ],
    );
}

fn dcmprscu_session_print_of_8_and_12_bit_films_portrait_and_landscape() {
    print_with_dcmtk(
        12,
        true,
        &[Film {
            cols: 2,
            rows: 1,
            film: "11INX14IN",
            landscape: true,
            values: vec![0, 4095],
            reformat: &["COL\\2"],
        }],
    );
    print_with_dcmtk(
        8,
        true,
        &[Film {
            cols: 2,
            rows: 2,
            film: "8INX10IN",
            landscape: false,
            values: vec![200, 0, 255, 100],
            reformat: &["ROW\\3,1"],
        }],
    );
}
