//! Interoperability with a pynetdicom Print SCU (tests/peers/pynet_print.py): every film that
//! pynetdicom prints lands as a correct PDF page, and every refused request gets the status
//! the standard (PS3.4 Annex H, PS3.7) gives it, on an association that stays usable.
//!
//! Each test starts its own filmd and runs the script with python3 against
//! 127.0.0.1:port (called AE title FILMD); the script reports every DIMSE response as JSON.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::pdf::{PageImage, pages};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Pynetdicom)]
        eight_bit_gray_films_print_in_standard_row_and_col_layouts_portrait_and_landscape,
        #[needs(Pynetdicom)]
        twelve_bit_gray_films_print_in_standard_row_and_col_layouts_portrait_and_landscape,
        #[needs(Pynetdicom)]
        color_films_print_as_rgb_pages_in_standard_row_and_col_layouts,
        #[needs(Pynetdicom)]
        session_print_puts_every_film_box_of_the_session_on_its_own_page,
        #[needs(Pynetdicom)]
        film_box_print_of_several_film_boxes_in_one_session_makes_one_pdf_per_n_action,
        #[needs(Pynetdicom)]
        presentation_luts_identity_lin_od_and_table_shape_the_tone,
        #[needs(Pynetdicom)]
        print_job_events_arrive_pending_printing_done_and_the_job_answers_n_get,
        #[needs(Pynetdicom)]
        print_job_is_kept_until_the_scu_confirms_its_done_event,
        #[needs(Pynetdicom)]
        printer_and_printer_configuration_retrieval_answer_n_get,
        #[needs(Pynetdicom)]
        annotation_display_formats_create_their_annotation_boxes_and_print,
        #[needs(Pynetdicom)]
        bad_requests_get_the_standard_status_and_a_c_echo_still_succeeds,
        #[needs(Pynetdicom)]
        error_comments_are_single_ascii_lo_values,
    ]
}

/// Runs pynet_print.py against the server; returns its JSON report.
fn pynet(server: &Server, args: &[&str]) -> Value {
    let script = common::repo_root().join("tests/peers/pynet_print.py");
    let out = common::output_within(
        Command::new("python3")
            .arg(&script)
            .args([
                "--port",
                &server.port.to_string(),
                "--ae",
                "FILMD",
                "--timeout",
                "20",
            ])
            .args(args),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("pynet_print.py {args:?}: no JSON ({e}); exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status.code()))
}

/// Runs the script and requires it to report every expectation met (exit 0, "ok": true).
fn pynet_ok(server: &Server, args: &[&str]) -> Value {
    let r = pynet(server, args);
    assert!(
        r["ok"] == true,
        "pynet_print.py {args:?} not ok: {}\nresponses: {}\nfilmd log:\n{}",
        r["mismatches"],
        r["responses"],
        server.log_text()
    );
    r
}

/// Statuses of the responses, in order, as (op, sop_class, status).
fn statuses(r: &Value) -> Vec<(String, String, String)> {
    r["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["op"].as_str().unwrap_or("").to_string(),
                x["sop_class"].as_str().unwrap_or("").to_string(),
                x["status"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

/// Checks page size (points, orientation), pixel size at 300 dpi, channels and depth.
fn assert_page(page: &PageImage, film: &str, landscape: bool, channels: u8) {
    let (mut w, mut h) = common::pdf::film_pt(film);
    if landscape {
        std::mem::swap(&mut w, &mut h);
    }
    assert!(
        (page.width_pt - w).abs() < 0.01 && (page.height_pt - h).abs() < 0.01,
        "{film} {}: page {} x {} pt, expected {w} x {h}",
        if landscape { "LANDSCAPE" } else { "PORTRAIT" },
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
        (channels, 8),
        "{film}: channels / bits per component"
    );
}

fn grays_at_centres(page: &PageImage, format: &str) -> Vec<u8> {
    common::pdf::centres(format)
        .iter()
        .map(|&(x, y)| page.gray_at(x, y))
        .collect()
}

/// MONOCHROME2: a higher pixel value prints lighter; equal values print equal.
fn assert_tone_follows(values: &[u32], grays: &[u8], what: &str) {
    assert_eq!(values.len(), grays.len());
    for i in 0..values.len() {
        for j in 0..values.len() {
            if values[i] < values[j] {
                assert!(
                    grays[i] < grays[j],
                    "{what}: value {} printed {} but value {} printed {} (all: values {values:?} grays {grays:?})",
                    values[i],
                    grays[i],
                    values[j],
                    grays[j]
                );
            } else if values[i] == values[j] {
                assert_eq!(
                    grays[i], grays[j],
                    "{what}: equal values print differently: {grays:?}"
                );
            }
        }
    }
}

fn csv(values: &[u32]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One grayscale film, printed by film box N-ACTION, checked page by page.
struct GrayFilm {
    format: &'static str,
    film: &'static str,
    landscape: bool,
    values: Vec<u32>,
}

fn print_gray_films(bits: u32, films: &[GrayFilm]) {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    for f in films {
        let values = csv(&f.values);
        let bits_s = bits.to_string();
        let mut args = vec![
            "--scenario",
            "print",
            "--bits",
            &bits_s,
            "--format",
            f.format,
            "--filmsize",
            f.film,
            "--values",
            &values,
        ];
        args.extend([
            "--orientation",
            if f.landscape { "LANDSCAPE" } else { "PORTRAIT" },
        ]);
        let r = pynet_ok(&server, &args);
        assert_eq!(
            r["image_box_count"][0].as_u64().unwrap() as usize,
            common::pdf::centres(f.format).len(),
            "{}: Referenced Image Box Sequence",
            f.format
        );
        let ops: Vec<_> = statuses(&r)
            .into_iter()
            .map(|(op, class, st)| format!("{op} {class} {st}"))
            .collect();
        let mut want = vec![
            "N-CREATE BasicFilmSession 0x0000".to_string(),
            "N-CREATE BasicFilmBox 0x0000".to_string(),
        ];
        want.extend(std::iter::repeat_n(
            "N-SET BasicGrayscaleImageBox 0x0000".to_string(),
            f.values.len(),
        ));
        want.extend([
            "N-ACTION BasicFilmBox 0x0000".to_string(),
            "N-DELETE BasicFilmSession 0x0000".to_string(),
        ]);
        assert_eq!(ops, want);
        let pdf = server.new_pdfs(&mut seen, 1).remove(0);
        results.push((f, pdf));
    }
    let max = (1u32 << bits) - 1;
    let mut extremes = Vec::new();
    for (f, pdf) in &results {
        let p = pages(pdf);
        assert_eq!(p.len(), 1, "{}: one film box, one page", pdf.display());
        let page = &p[0];
        assert_page(page, f.film, f.landscape, 1);
        let g = grays_at_centres(page, f.format);
        assert_tone_follows(
            &f.values,
            &g,
            &format!("{bits}-bit {} {}", f.format, f.film),
        );
        for (v, gray) in f.values.iter().zip(&g) {
            if *v == 0 || *v == max {
                extremes.push((*v, *gray));
            }
        }
    }
    // The darkest and the lightest value print the same on every film, whatever the layout.
    for (v, g) in &extremes {
        let same: Vec<u8> = extremes
            .iter()
            .filter(|(w, _)| w == v)
            .map(|(_, h)| *h)
            .collect();
        assert!(
            same.iter().all(|h| h == g),
            "value {v} prints as {same:?} on different films"
        );
    }
}

fn eight_bit_gray_films_print_in_standard_row_and_col_layouts_portrait_and_landscape() {
    print_gray_films(
        8,
        &[
            GrayFilm {
                format: "STANDARD\\2,2",
                film: "14INX17IN",
                landscape: false,
                values: vec![0, 85, 170, 255],
            },
            GrayFilm {
                format: "STANDARD\\3,2",
                film: "14INX17IN",
                landscape: true,
                values: vec![255, 0, 200, 50, 150, 100],
            },
            GrayFilm {
                format: "ROW\\1,2",
                film: "8INX10IN",
                landscape: false,
                values: vec![255, 0, 128],
            },
            GrayFilm {
                format: "ROW\\2,1,3",
                film: "11INX14IN",
                landscape: true,
                values: vec![0, 40, 80, 120, 160, 255],
            },
            GrayFilm {
                format: "COL\\2,1",
                film: "8INX10IN",
                landscape: true,
                values: vec![0, 128, 255],
            },
            GrayFilm {
                format: "COL\\1,3",
                film: "10INX12IN",
                landscape: false,
                values: vec![255, 0, 100, 200],
            },
        ],
    );
}

fn twelve_bit_gray_films_print_in_standard_row_and_col_layouts_portrait_and_landscape() {
    print_gray_films(
        12,
        &[
            GrayFilm {
                format: "STANDARD\\2,2",
                film: "14INX17IN",
                landscape: true,
                values: vec![0, 1000, 2000, 4095],
            },
            GrayFilm {
                format: "STANDARD\\1,2",
                film: "8INX10IN",
                landscape: false,
                values: vec![4095, 0],
            },
            GrayFilm {
                format: "ROW\\1,2",
                film: "14INX17IN",
                landscape: false,
                values: vec![2048, 0, 4095],
            },
            GrayFilm {
                format: "ROW\\3,1",
                film: "10INX12IN",
                landscape: true,
                values: vec![4095, 3000, 1000, 0],
            },
            GrayFilm {
                format: "COL\\2,1",
                film: "11INX14IN",
                landscape: false,
                values: vec![0, 2048, 4095],
            },
            GrayFilm {
                format: "COL\\1,2,2",
                film: "14INX17IN",
                landscape: true,
                values: vec![4095, 0, 1024, 2048, 3072],
            },
        ],
    );
}

fn color_films_print_as_rgb_pages_in_standard_row_and_col_layouts() {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    let red = [255u8, 0, 0];
    let green = [0u8, 255, 0];
    let blue = [0u8, 0, 255];
    let gray = [128u8, 128, 128];
    let films: [(&str, &str, bool, Vec<[u8; 3]>); 4] = [
        ("STANDARD\\2,1", "8INX10IN", false, vec![red, blue]),
        (
            "STANDARD\\2,2",
            "14INX17IN",
            true,
            vec![red, green, blue, gray],
        ),
        ("ROW\\1,2", "10INX12IN", true, vec![green, red, blue]),
        ("COL\\2,1", "14INX17IN", false, vec![blue, gray, red]),
    ];
    for (format, film, landscape, colors) in &films {
        let values: Vec<String> = colors
            .iter()
            .map(|c| format!("{}/{}/{}", c[0], c[1], c[2]))
            .collect();
        let values = values.join(",");
        let r = pynet_ok(
            &server,
            &[
                "--scenario",
                "print",
                "--color",
                "--format",
                format,
                "--filmsize",
                film,
                "--orientation",
                if *landscape { "LANDSCAPE" } else { "PORTRAIT" },
                "--values",
                &values,
            ],
        );
        assert!(statuses(&r).iter().any(|(op, class, st)| op == "N-SET"
            && class == "BasicColorImageBox"
            && st == "0x0000"));
        let pdf = server.new_pdfs(&mut seen, 1).remove(0);
        let p = pages(&pdf);
        assert_eq!(p.len(), 1);
        let page = &p[0];
        assert_page(page, film, *landscape, 3);
        for (i, (&(fx, fy), want)) in common::pdf::centres(format).iter().zip(colors).enumerate() {
            let x = ((fx * f64::from(page.width_px)) as u32).min(page.width_px - 1);
            let y = ((fy * f64::from(page.height_px)) as u32).min(page.height_px - 1);
            assert_eq!(page.at(x, y), want, "{format} {film}: box {} colour", i + 1);
        }
    }
}

fn session_print_puts_every_film_box_of_the_session_on_its_own_page() {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    // 8-bit, 12-bit and colour sessions of three, two and two film boxes, one N-ACTION each.
    // (extra script arguments, films, display format, film size, landscape, channels)
    type Run<'a> = (&'a [&'a str], usize, &'a str, &'a str, bool, u8);
    let runs: [Run; 3] = [
        (
            &["--bits", "8", "--values", "0,255,128"],
            3,
            "ROW\\1,2",
            "14INX17IN",
            false,
            1,
        ),
        (
            &["--bits", "12", "--values", "4095,0"],
            2,
            "STANDARD\\2,1",
            "8INX10IN",
            true,
            1,
        ),
        (
            &["--color", "--values", "255/0/0,0/0/255,0/255/0"],
            2,
            "COL\\2,1",
            "10INX12IN",
            false,
            3,
        ),
    ];
    for (extra, films, format, film, landscape, channels) in runs {
        let films_s = films.to_string();
        let mut args = vec![
            "--scenario",
            "print",
            "--session-print",
            "--films",
            &films_s,
            "--format",
            format,
            "--filmsize",
            film,
            "--orientation",
            if landscape { "LANDSCAPE" } else { "PORTRAIT" },
        ];
        args.extend_from_slice(extra);
        let r = pynet_ok(&server, &args);
        let actions: Vec<_> = statuses(&r)
            .into_iter()
            .filter(|(op, _, _)| op == "N-ACTION")
            .collect();
        assert_eq!(
            actions,
            vec![(
                "N-ACTION".to_string(),
                "BasicFilmSession".to_string(),
                "0x0000".to_string()
            )]
        );
        assert_eq!(r["film_boxes"].as_array().unwrap().len(), films);
        let pdf = server.new_pdfs(&mut seen, 1).remove(0);
        let p = pages(&pdf);
        assert_eq!(
            p.len(),
            films,
            "{}: one page per film box of the session",
            pdf.display()
        );
        for page in &p {
            assert_page(page, film, landscape, channels);
        }
        let c = common::pdf::centres(format);
        if channels == 1 {
            let bits: u32 = if extra.contains(&"12") { 12 } else { 8 };
            let values: Vec<u32> = extra[3].split(',').map(|v| v.parse().unwrap()).collect();
            let max = (1 << bits) - 1;
            for page in &p {
                let g = grays_at_centres(page, format);
                assert_tone_follows(&values, &g, &format!("session print {format}"));
                assert!(values.contains(&max) && values.contains(&0));
            }
            // Every film of the session is the same film: identical pages.
            assert!(
                p.windows(2).all(|w| w[0].pixels == w[1].pixels),
                "the films of one session differ"
            );
        } else {
            for page in &p {
                let at = |i: usize| {
                    let (fx, fy) = c[i];
                    page.at(
                        (fx * f64::from(page.width_px)) as u32,
                        (fy * f64::from(page.height_px)) as u32,
                    )
                    .to_vec()
                };
                assert_eq!(
                    (at(0), at(1), at(2)),
                    (vec![255, 0, 0], vec![0, 0, 255], vec![0, 255, 0])
                );
            }
        }
    }
}

fn film_box_print_of_several_film_boxes_in_one_session_makes_one_pdf_per_n_action() {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    let r = pynet_ok(
        &server,
        &[
            "--scenario",
            "print",
            "--films",
            "3",
            "--format",
            "STANDARD\\2,1",
            "--values",
            "0,255",
            "--filmsize",
            "8INX10IN",
        ],
    );
    let actions = statuses(&r)
        .into_iter()
        .filter(|(op, class, st)| op == "N-ACTION" && class == "BasicFilmBox" && st == "0x0000")
        .count();
    assert_eq!(actions, 3);
    for pdf in server.new_pdfs(&mut seen, 3) {
        let p = pages(&pdf);
        assert_eq!(p.len(), 1);
        assert_page(&p[0], "8INX10IN", false, 1);
        let g = grays_at_centres(&p[0], "STANDARD\\2,1");
        assert!(g[0] < g[1], "{g:?}");
    }
}

fn presentation_luts_identity_lin_od_and_table_shape_the_tone() {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    let values = [0u32, 1024, 2048, 3072, 4095];
    let format = "STANDARD\\5,1";
    let mut grays = Vec::new();
    // No Presentation LUT (IDENTITY by default), IDENTITY on the film box, IDENTITY on the
    // film session (older SCUs), LIN OD, a linear 4096-entry table; then 8-bit with a
    // linear 256-entry table against 8-bit without one.
    let runs: [&[&str]; 7] = [
        &["--bits", "12"],
        &["--bits", "12", "--plut", "IDENTITY"],
        &["--bits", "12", "--plut", "IDENTITY", "--plut-in-session"],
        &["--bits", "12", "--plut", "LIN OD"],
        &["--bits", "12", "--plut", "table"],
        &["--bits", "8"],
        &["--bits", "8", "--plut", "table"],
    ];
    for extra in runs {
        let vals = if extra[1] == "8" {
            "0,64,128,192,255"
        } else {
            "0,1024,2048,3072,4095"
        };
        let mut args = vec![
            "--scenario",
            "print",
            "--format",
            format,
            "--filmsize",
            "14INX17IN",
            "--values",
            vals,
        ];
        args.extend_from_slice(extra);
        let r = pynet_ok(&server, &args);
        if extra.len() > 2 {
            let created = statuses(&r)
                .into_iter()
                .find(|(op, class, _)| op == "N-CREATE" && class == "PresentationLUT")
                .expect("Presentation LUT N-CREATE");
            assert_eq!(created.2, "0x0000", "{extra:?}");
            assert!(statuses(&r).iter().any(|(op, class, st)| op == "N-DELETE"
                && class == "PresentationLUT"
                && st == "0x0000"));
        }
        let pdf = server.new_pdfs(&mut seen, 1).remove(0);
        let page = &pages(&pdf)[0];
        assert_page(page, "14INX17IN", false, 1);
        let g = grays_at_centres(page, format);
        assert_tone_follows(&values, &g, &format!("{extra:?}"));
        grays.push(g);
    }
    let [
        none,
        identity,
        identity_session,
        lin_od,
        table12,
        none8,
        table8,
    ] = &grays[..]
    else {
        unreachable!()
    };
    assert_eq!(identity, none, "IDENTITY is the default");
    assert_eq!(
        identity_session, identity,
        "IDENTITY referenced from the film session"
    );
    let close = |a: &[u8], b: &[u8]| a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= 1);
    assert!(
        close(table12, identity),
        "a linear 12-bit table is the identity: {table12:?} vs {identity:?}"
    );
    assert!(
        close(table8, none8),
        "a linear 8-bit table is the identity: {table8:?} vs {none8:?}"
    );
    // LIN OD spans the same densities (same ends) but spaces them linearly in OD rather than
    // perceptually (GSDF): the mid-tones differ.
    assert!(
        lin_od[0].abs_diff(identity[0]) <= 1 && lin_od[4].abs_diff(identity[4]) <= 1,
        "LIN OD ends {lin_od:?} vs IDENTITY {identity:?}"
    );
    assert!(
        lin_od[1..4] != identity[1..4],
        "LIN OD prints like IDENTITY: {lin_od:?}"
    );
}

fn print_job_events_arrive_pending_printing_done_and_the_job_answers_n_get() {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    for extra in [
        &["--films", "1"][..],
        &["--films", "2", "--session-print"][..],
    ] {
        let mut args = vec![
            "--scenario",
            "events",
            "--expect-events",
            "1,2,3",
            "--format",
            "STANDARD\\2,1",
            "--values",
            "0,255",
        ];
        args.extend_from_slice(extra);
        let r = pynet_ok(&server, &args);
        let jobs = r["print_job_uids"].as_array().unwrap();
        assert_eq!(
            jobs.len(),
            1,
            "one Referenced Print Job Sequence item per N-ACTION"
        );
        let job = jobs[0].as_str().unwrap();
        let ids: Vec<u64> = r["print_job_event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![1, 2, 3],
            "PENDING, PRINTING, DONE, each once, in order"
        );
        for e in r["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["sop_class"] == "PrintJob")
        {
            assert_eq!(
                e["instance_uid"], job,
                "events name the job of the N-ACTION"
            );
        }
        // N-GET of the job, sent right after the N-ACTION reply: it answers with the job,
        // unless the SCU had already confirmed DONE, after which the SCP deletes the job
        // (0x0112; the script accepts that only when DONE was handled before the N-GET was
        // sent, and fails when the job vanished before its DONE was confirmed).
        let got = &r["print_jobs"][0];
        assert_eq!(got["uid"], job);
        if got["status"] == "0x0112" {
            assert!(got["deleted_after_final_event"] == true, "{got}");
        } else {
            assert_eq!(got["status"], "0x0000", "N-GET of the Print Job");
            let exec = got["attributes"]["ExecutionStatus"].as_str().unwrap_or("");
            assert!(
                ["PENDING", "PRINTING", "DONE"].contains(&exec),
                "Execution Status {exec:?}"
            );
            assert!(got["attributes"]["PrinterName"].is_string(), "{got}");
        }
        let pdf = server.new_pdfs(&mut seen, 1).remove(0);
        assert_eq!(pages(&pdf).len(), if extra.len() > 2 { 2 } else { 1 });
    }
}

/// PS3.4 H.4.5.2.1.2: after DONE or FAILURE "the SCP shall delete the Print Job SOP Instance
/// after receiving a confirmation from the SCU". The script holds its confirmation of DONE
/// for a second and meanwhile N-GETs the job: it must still be there, DONE.
fn print_job_is_kept_until_the_scu_confirms_its_done_event() {
    let server = Server::start();
    let r = pynet_ok(
        &server,
        &[
            "--scenario",
            "events",
            "--expect-events",
            "1,2,3",
            "--get-after",
            "--confirm-delay",
            "1",
            "--format",
            "STANDARD\\1,1",
            "--values",
            "200",
        ],
    );
    let job = r["print_job_uids"][0].as_str().unwrap();
    let after = &r["print_jobs_after"][0];
    assert_eq!(after["uid"], job);
    assert_eq!(
        after["status"],
        "0x0000",
        "N-GET of the Print Job before its DONE event was confirmed: {after}\nfilmd log:\n{}",
        server.log_text()
    );
    assert_eq!(after["attributes"]["ExecutionStatus"], "DONE", "{after}");
    server.wait_pdfs(1);
}

fn printer_and_printer_configuration_retrieval_answer_n_get() {
    let server = Server::start();
    for extra in [&[][..], &["--color"][..]] {
        let mut args = vec!["--scenario", "printer"];
        args.extend_from_slice(extra);
        let r = pynet_ok(&server, &args);
        assert_eq!(
            statuses(&r),
            vec![
                ("N-GET".into(), "Printer".into(), "0x0000".into()),
                (
                    "N-GET".into(),
                    "PrinterConfigurationRetrieval".into(),
                    "0x0000".into()
                )
            ]
        );
        assert_eq!(r["printer"]["PrinterStatus"], "NORMAL", "{}", r["printer"]);
        assert!(r["printer"]["PrinterName"].is_string(), "{}", r["printer"]);
        let seq = r["printer_configuration"]["PrinterConfigurationSequence"]
            .as_array()
            .expect("Printer Configuration Sequence");
        assert!(!seq.is_empty(), "empty Printer Configuration Sequence");
    }
}

fn annotation_display_formats_create_their_annotation_boxes_and_print() {
    let server = Server::start();
    let mut seen = BTreeSet::new();
    let plain = pynet_ok(
        &server,
        &[
            "--scenario",
            "print",
            "--format",
            "STANDARD\\1,1",
            "--values",
            "128",
        ],
    );
    assert!(
        plain["film_boxes"][0]["annotation_boxes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let plain_pdf = server.new_pdfs(&mut seen, 1).remove(0);
    let plain_page = &pages(&plain_pdf)[0];
    for (id, n) in [
        ("LABEL", 1usize),
        ("TOP_BOTTOM", 2),
        ("CORNERS", 4),
        ("FULL", 6),
    ] {
        let r = pynet_ok(
            &server,
            &[
                "--scenario",
                "annotation",
                "--annotation-format",
                id,
                "--text",
                "FILMD ONE|TWO|THREE|FOUR|FIVE|SIX",
                "--format",
                "STANDARD\\1,1",
                "--values",
                "128",
            ],
        );
        let boxes = r["film_boxes"][0]["annotation_boxes"].as_array().unwrap();
        assert_eq!(
            boxes.len(),
            n,
            "{id}: Referenced Basic Annotation Box Sequence"
        );
        assert!(
            boxes.iter().all(|b| b["class"] == "1.2.840.10008.5.1.1.15"),
            "{id}: {boxes:?}"
        );
        let sets = statuses(&r)
            .into_iter()
            .filter(|(op, class, st)| {
                op == "N-SET" && class == "BasicAnnotationBox" && st == "0x0000"
            })
            .count();
        assert_eq!(sets, n, "{id}: every annotation box N-SET succeeds");
        let pdf = server.new_pdfs(&mut seen, 1).remove(0);
        let p = pages(&pdf);
        assert_eq!(p.len(), 1);
        assert_page(&p[0], "14INX17IN", false, 1);
        // The image keeps its tone at the centre of the film; the annotation bands take
        // their room from the edges (the text itself is checked in tests/it/annotation.rs).
        assert_eq!(
            p[0].gray_at(0.5, 0.5),
            plain_page.gray_at(0.5, 0.5),
            "{id}: image box tone"
        );
    }
}

/// Every `bad` case of pynet_print.py with the status filmd must give.
const BAD: [(&str, Option<&str>, &str); 15] = [
    ("short_pixels", None, "0x0106"),
    ("long_pixels", None, "0x0106"),
    ("huge_dims", None, "0x0106"),
    ("bad_filmsize", None, "0x0106"),
    ("bad_format", Some("STANDARD\\0,5"), "0x0106"),
    ("bad_format", Some("BOGUS"), "0x0106"),
    ("bad_format", Some("STANDARD\\2"), "0x0106"),
    ("bad_format", Some("ROW\\"), "0x0106"),
    ("bad_format", Some("STANDARD\\60000,60000"), "0x0106"),
    ("bad_bits_stored", None, "0x0106"),
    ("nset_unknown", None, "0x0112"),
    ("filmbox_without_session", None, "0x0117"),
    ("empty_filmbox_print", None, "0xB603"),
    ("empty_session_print", None, "0xC600"),
    ("second_session", None, "0x0111"),
];

fn run_bad(server: &Server, case: &str, format: Option<&str>, expect: &str) -> Value {
    let mut args = vec!["--scenario", "bad", "--case", case, "--expect", expect];
    if let Some(f) = format {
        args.extend(["--format", f]);
    }
    pynet(server, &args)
}

fn bad_requests_get_the_standard_status_and_a_c_echo_still_succeeds() {
    let server = Server::start();
    for (case, format, expect) in BAD {
        let r = run_bad(&server, case, format, expect);
        let what = format!("{case} {}", format.unwrap_or(""));
        assert_eq!(
            r["bad_status"],
            expect,
            "{what}: {}\nfilmd log:\n{}",
            r["responses"],
            server.log_text()
        );
        assert!(r["ok"] == true, "{what}: {}", r["mismatches"]);
        assert_eq!(r["echo_status"], "0x0000", "{what}: C-ECHO afterwards");
        assert_eq!(
            r["echo_association"], "same",
            "{what}: a refused request must not end the association"
        );
    }
    // None of them printed anything (empty_filmbox_print is a warning with nothing printed):
    // a good film printed now is the first and only PDF of this server.
    assert!(server.pdfs().is_empty(), "{:?}", server.pdfs());
    pynet_ok(&server, &["--scenario", "print", "--values", "100"]);
    let pdfs = server.wait_pdfs(1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.pdfs(), pdfs, "only the good film was printed");
    assert_eq!(pages(&pdfs[0]).len(), 1);
}

/// Error Comment (0000,0902) is LO in the command set, whose repertoire is the default one
/// (PS3.7 6.3.1 / PS3.5 6.2): at most 64 characters, no backslash (it would split the value),
/// nothing beyond ASCII. A comment quoting `STANDARD\0,5` reaches pynetdicom cut at the
/// backslash, and `×` arrives as the two bytes of its UTF-8 encoding.
fn error_comments_are_single_ascii_lo_values() {
    let server = Server::start();
    for (case, format, expect) in [BAD[0], BAD[2], BAD[4], BAD[8]] {
        let r = run_bad(&server, case, format, expect);
        let resp = r["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["status"] == expect)
            .unwrap_or_else(|| panic!("{case}: {}", r["responses"]));
        let comment = resp["error_comment"]
            .as_str()
            .unwrap_or_else(|| panic!("{case}: a failure carries an Error Comment"));
        assert!(
            comment.is_ascii() && comment.len() <= 64,
            "{case}: Error Comment not plain ASCII LO: {comment:?}"
        );
        assert!(
            comment.matches('"').count() % 2 == 0,
            "{case}: Error Comment cut at a backslash: {comment:?}"
        );
    }
}
