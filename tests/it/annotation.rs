//! Annotation text end to end: Text Strings in Latin-1 (ISO_IR 100) and UTF-8 (ISO_IR 192)
//! reach filmd as Unicode, are burned into the annotation bands of the printed page, and the
//! images keep their place and tone. Annotation formats come from layouts/ as data.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::pdf::{PageImage, pages};
use common::scu::*;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::net::dataset;
use filmd::net::dimse::{Command, command_field as cf};
use filmd::print::uids;
use std::process::Command as Process;

pub fn tests() -> Vec<Test> {
    trials![
        latin1_and_utf8_annotations_arrive_as_unicode_and_are_burned_into_their_bands,
        an_annotation_file_in_the_layouts_directory_replaces_the_embedded_formats,
        a_bad_annotation_file_is_refused_at_start_naming_file_and_key,
    ]
}

const SESSION_ROOT: &str = "1.2.826.0.1.3680043.10.1.90";

fn uniform8(v: u16) -> InMemDicomObject {
    gray_image(64, 64, 8, "MONOCHROME2", &vec![v; 64 * 64])
}

/// An annotation box N-SET data set with its Specific Character Set, encoded as the SCU
/// sends it on the Basic Annotation Box context.
fn annotation_bytes(position: u16, charset: &str, text: &str, transfer_syntax: &str) -> Vec<u8> {
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from(charset),
        ),
        DataElement::new(
            tags::ANNOTATION_POSITION,
            VR::US,
            PrimitiveValue::from(position),
        ),
        DataElement::new(tags::TEXT_STRING, VR::LO, PrimitiveValue::from(text)),
    ]);
    dataset::encode(&obj, transfer_syntax).expect("encode")
}

/// Prints one film box `STANDARD\2,1` (images 60 and 200) with `format` and `texts` set as
/// (position, charset, text); returns the N-CREATE response data set.
fn print_annotated(
    scu: &mut Scu,
    n: u32,
    border: &str,
    format: Option<&str>,
    texts: &[(u16, &str, &str)],
) -> InMemDicomObject {
    let session = format!("{SESSION_ROOT}.{n}");
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(&session),
            &film_session(1, "annotation")
        )
        .status(),
        0
    );
    let mut extra = vec![(tags::BORDER_DENSITY, VR::CS, border)];
    if let Some(f) = format {
        extra.push((tags::ANNOTATION_DISPLAY_FORMAT_ID, VR::CS, f));
    }
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(&session, "STANDARD\\2,1", "8INX10IN", "PORTRAIT", &extra),
    );
    assert_eq!(fb.status(), 0, "film box N-CREATE: {:?}", fb.command);
    let data = fb.data.expect("N-CREATE data set");
    let boxes = referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE);
    for (i, v) in [60u16, 200].iter().enumerate() {
        let r = scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            &boxes[i],
            &image_box(i as u16 + 1, uniform8(*v), false, &[]),
        );
        assert_eq!(r.status(), 0);
    }
    let annotation_boxes = referenced_uids(&data, tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE);
    let (_, ts) = scu
        .context(uids::BASIC_ANNOTATION_BOX)
        .expect("annotation context");
    for (position, charset, text) in texts {
        let bytes = annotation_bytes(*position, charset, text, &ts);
        let command = Command {
            command_field: cf::N_SET_RQ,
            requested_sop_class_uid: Some(uids::BASIC_ANNOTATION_BOX.into()),
            requested_sop_instance_uid: Some(annotation_boxes[*position as usize - 1].clone()),
            ..Default::default()
        };
        let r = scu.request_raw(uids::BASIC_ANNOTATION_BOX, command, &bytes);
        assert_eq!(
            r.status(),
            0,
            "annotation {position} N-SET ({charset}): {:?}",
            r.command
        );
    }
    let fb_uid = fb.command.affected_sop_instance_uid.expect("film box UID");
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid)
            .status(),
        0
    );
    assert_eq!(
        scu.n_delete(GRAY_META, uids::BASIC_FILM_SESSION, &session)
            .status(),
        0
    );
    data
}

/// Pixels of rows `y0..y1` and columns `x0..x1` that differ from `background`, and how
/// many are lighter than it.
fn differing(
    page: &PageImage,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    background: u8,
) -> (usize, usize) {
    let mut differ = 0;
    let mut lighter = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let v = page.at(x, y)[0];
            if v != background {
                differ += 1;
                lighter += usize::from(v > background);
            }
        }
    }
    (differ, lighter)
}

fn latin1_and_utf8_annotations_arrive_as_unicode_and_are_burned_into_their_bands() {
    // What goes on the wire: Latin-1 bytes for ISO_IR 100, UTF-8 for ISO_IR 192 ...
    let latin1 = annotation_bytes(1, "ISO_IR 100", "Müller^Jürgen", dataset::EXPLICIT_VR_LE);
    assert!(
        latin1.windows(13).any(|w| w == b"M\xfcller^J\xfcrgen"),
        "ü is one byte 0xFC in ISO_IR 100"
    );
    let utf8 = annotation_bytes(2, "ISO_IR 192", "Ω µ", dataset::EXPLICIT_VR_LE);
    assert!(utf8.windows(5).any(|w| w == "Ω µ".as_bytes()));
    // ... and what filmd's decoder makes of it.
    for (bytes, text) in [(&latin1, "Müller^Jürgen"), (&utf8, "Ω µ")] {
        let obj = dataset::decode(bytes, dataset::EXPLICIT_VR_LE).unwrap();
        assert_eq!(
            obj.element(tags::TEXT_STRING)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end(),
            text
        );
    }

    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META, uids::BASIC_ANNOTATION_BOX]);
    let texts = [(1, "ISO_IR 100", "Müller^Jürgen"), (2, "ISO_IR 192", "Ω µ")];
    let data = print_annotated(&mut scu, 1, "BLACK", Some("TOP_BOTTOM"), &texts);
    assert_eq!(
        referenced_uids(&data, tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE).len(),
        2
    );
    print_annotated(&mut scu, 2, "WHITE", Some("TOP_BOTTOM"), &texts);
    print_annotated(&mut scu, 3, "BLACK", None, &[]);
    scu.release();
    let pdfs = server.wait_pdfs(3);
    let log = server.log_text();
    assert!(
        log.contains("Müller^Jürgen") && log.contains("Ω µ"),
        "the handler saw Unicode text:\n{log}"
    );

    let on_black = &pages(&pdfs[0])[0];
    let on_white = &pages(&pdfs[1])[0];
    let plain = &pages(&pdfs[2])[0];
    let (w, h) = (on_black.width_px, on_black.height_px);
    assert_eq!((w, h), (2400, 3000));
    // The bands: 10 pt at 300 dpi plus padding, under 3 % of the film's height each.
    let band = h * 3 / 100;
    let top_middle = (w / 3, 0, 2 * w / 3, band);
    let bottom_middle = (w / 3, h - band, 2 * w / 3, h);
    // Light text on the black border, dark text on the white one.
    for (area, name) in [(top_middle, "top"), (bottom_middle, "bottom")] {
        let (differ, lighter) = differing(on_black, area, 0);
        assert!(
            differ > 300 && lighter == differ,
            "{name} band on BLACK: {differ} text pixels, {lighter} lighter"
        );
        let (differ, lighter) = differing(on_white, area, 255);
        assert!(
            differ > 300 && lighter == 0,
            "{name} band on WHITE: {differ} text pixels, {lighter} lighter"
        );
    }
    // Centred text leaves the ends of the bands, and the plain film its bands, blank.
    assert_eq!(differing(on_black, (0, 0, w / 4, band), 0).0, 0);
    assert_eq!(differing(plain, (0, 0, w, band), 0).0, 0);
    // The images keep their tone at their centres; the band rows never reach them.
    for (fx, fy) in [(0.25, 0.5), (0.75, 0.5)] {
        assert_eq!(
            on_black.gray_at(fx, fy),
            plain.gray_at(fx, fy),
            "image tone at ({fx}, {fy})"
        );
        assert_eq!(
            on_white.gray_at(fx, fy),
            plain.gray_at(fx, fy),
            "image tone at ({fx}, {fy})"
        );
    }
    assert_ne!(plain.gray_at(0.25, 0.5), plain.gray_at(0.75, 0.5));
}

fn an_annotation_file_in_the_layouts_directory_replaces_the_embedded_formats() {
    let dir = tempfile::tempdir().unwrap();
    let layouts = dir.path().join("layouts");
    std::fs::create_dir(&layouts).unwrap();
    std::fs::write(
        layouts.join("annotations.toml"),
        "[[format]]\nid = \"SITE\"\nsize_mm = 5\npositions = [\n  { edge = \"bottom\", align = \"left\" },\n  { edge = \"bottom\", align = \"left\" },\n  { edge = \"bottom\", align = \"right\" },\n]\n",
    )
    .unwrap();
    let config = format!(
        "[server]\nlayouts_dir = {:?}\n",
        layouts.display().to_string()
    );
    let server = Server::start_with(&[], Some(&config));
    let mut scu = Scu::connect(server.port, &[GRAY_META, uids::BASIC_ANNOTATION_BOX]);
    let session = format!("{SESSION_ROOT}.10");
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(&session),
            &film_session(1, "site")
        )
        .status(),
        0
    );
    let site = film_box(
        &session,
        "STANDARD\\1,1",
        "8INX10IN",
        "PORTRAIT",
        &[(tags::ANNOTATION_DISPLAY_FORMAT_ID, VR::CS, "SITE")],
    );
    let fb = scu.n_create(GRAY_META, uids::BASIC_FILM_BOX, None, &site);
    assert_eq!(fb.status(), 0);
    assert_eq!(
        referenced_uids(
            fb.data.as_ref().unwrap(),
            tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE
        )
        .len(),
        3
    );
    let label = film_box(
        &session,
        "STANDARD\\1,1",
        "8INX10IN",
        "PORTRAIT",
        &[(tags::ANNOTATION_DISPLAY_FORMAT_ID, VR::CS, "LABEL")],
    );
    assert_eq!(
        scu.n_create(GRAY_META, uids::BASIC_FILM_BOX, None, &label)
            .status(),
        0x0106,
        "LABEL is no longer defined"
    );
    scu.release();
}

fn a_bad_annotation_file_is_refused_at_start_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("annotations.toml"),
        "[[format]]\nid = \"A\"\npositions = [{ edge = \"left\", align = \"left\" }]\n",
    )
    .unwrap();
    let config = dir.path().join("filmd.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlayouts_dir = {:?}\n",
            dir.path().display().to_string()
        ),
    )
    .unwrap();
    let out = common::output_within(
        Process::new(env!("CARGO_BIN_EXE_filmd")).args(["check-config", config.to_str().unwrap()]),
        common::PEER_DEADLINE,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("annotations.toml") && err.contains("format[0] (\"A\").positions[0].edge"),
        "{err}"
    );
    let serve = common::output_within(
        Process::new(env!("CARGO_BIN_EXE_filmd")).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
        ]),
        common::PEER_DEADLINE,
    );
    assert_ne!(serve.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&serve.stderr).contains("positions[0].edge"));
}
