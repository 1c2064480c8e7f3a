//! Layouts, magnification and image size end to end: SLIDE, SUPERSLIDE and CUSTOM films
//! with images at their documented places, REPLICATE blocks, Requested Image Size in
//! millimetres on the page, and the Annex H statuses of Requested Decimate/Crop Behavior
//! at image box N-SET and at N-ACTION (CONFORMANCE.md, 8.2 and 8.3).

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::pdf::{PageImage, pages};
use common::scu::*;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::print::uids;

pub fn tests() -> Vec<Test> {
    trials![
        slide_film_has_45_frames_of_36_by_24_mm_on_8x10,
        superslide_film_has_30_frames_of_38_mm_on_8x10_landscape,
        custom_layout_1_places_a_large_box_above_two,
        custom_layouts_file_in_layouts_dir_is_used_and_checked,
        replicate_prints_600_px_blocks_on_8x10,
        requested_image_size_prints_the_image_that_many_mm_wide,
        decimate_crop_statuses_at_image_box_n_set,
        n_action_checks_images_against_the_film_box_as_it_is_then,
    ]
}

const DPI: f64 = 300.0;

fn px(mm: f64) -> f64 {
    mm * DPI / 25.4
}

fn uniform(v: u16) -> Option<InMemDicomObject> {
    Some(gray_image(64, 64, 8, "MONOCHROME2", &vec![v; 64 * 64]))
}

/// The run of pixels equal to `value` along row `y` that contains `x`: [start, end).
fn run_at(page: &PageImage, x: u32, y: u32) -> (u32, u32) {
    let v = page.at(x, y)[0];
    let mut start = x;
    while start > 0 && page.at(start - 1, y)[0] == v {
        start -= 1;
    }
    let mut end = x;
    while end < page.width_px && page.at(end, y)[0] == v {
        end += 1;
    }
    (start, end)
}

/// The same down column `x`.
fn column_run_at(page: &PageImage, x: u32, y: u32) -> (u32, u32) {
    let v = page.at(x, y)[0];
    let mut start = y;
    while start > 0 && page.at(x, start - 1)[0] == v {
        start -= 1;
    }
    let mut end = y;
    while end < page.height_px && page.at(x, end)[0] == v {
        end += 1;
    }
    (start, end)
}

fn assert_near(got: u32, want_px: f64, what: &str) {
    assert!(
        (f64::from(got) - want_px).abs() <= 1.0,
        "{what}: {got} px, documented {want_px:.1} px"
    );
}

fn slide_film_has_45_frames_of_36_by_24_mm_on_8x10() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut images: Vec<Option<InMemDicomObject>> = vec![None; 45];
    images[0] = uniform(0);
    images[1] = uniform(80);
    images[5] = uniform(160);
    images[44] = uniform(240);
    let mut spec = FilmSpec::gray("SLIDE", images);
    spec.film_box_extra = vec![
        (tags::BORDER_DENSITY, VR::CS, "WHITE"),
        (tags::EMPTY_IMAGE_DENSITY, VR::CS, "BLACK"),
    ];
    let (status, data) = print_film(&mut scu, &spec);
    assert_eq!(status, 0);
    assert_eq!(
        referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE).len(),
        45,
        "5 x 9 frames on 8INX10IN portrait"
    );
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    // Frame (column c, row r) holds a 36 x 24 mm box at x = 7.6 + 38c mm, y = 11 + 26r mm.
    let centre = |position: usize| {
        let (c, r) = ((position - 1) % 5, (position - 1) / 5);
        (
            px(7.6 + 18.0 + 38.0 * c as f64) as u32,
            px(11.0 + 12.0 + 26.0 * r as f64) as u32,
        )
    };
    let grays: Vec<u8> = [1, 2, 6, 45]
        .iter()
        .map(|&p| {
            let (x, y) = centre(p);
            page.at(x, y)[0]
        })
        .collect();
    assert!(
        grays.windows(2).all(|w| w[0] < w[1]),
        "positions 1, 2, 6 and 45 in row order: {grays:?}"
    );
    // Position 3 is empty (BLACK): its box measured on the page.
    let (x, y) = centre(3);
    assert_eq!(page.at(x, y)[0], 0);
    let (x0, x1) = run_at(page, x, y);
    let (y0, y1) = column_run_at(page, x, y);
    assert_near(x0, px(7.6 + 76.0), "left edge of position 3");
    assert_near(x1 - x0, px(36.0), "width of a SLIDE box");
    assert_near(y0, px(11.0), "top edge of the first row");
    assert_near(y1 - y0, px(24.0), "height of a SLIDE box");
    // Between two frames the film shows the border.
    assert_eq!(page.at(px(7.6 + 36.0 + 1.0) as u32, y)[0], 255);
}

fn superslide_film_has_30_frames_of_38_mm_on_8x10_landscape() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut images: Vec<Option<InMemDicomObject>> = vec![None; 30];
    images[0] = uniform(200);
    images[7] = uniform(100);
    let mut spec = FilmSpec::gray("SUPERSLIDE", images);
    spec.orientation = "LANDSCAPE";
    spec.film_box_extra = vec![
        (tags::BORDER_DENSITY, VR::CS, "WHITE"),
        (tags::EMPTY_IMAGE_DENSITY, VR::CS, "BLACK"),
    ];
    let (status, data) = print_film(&mut scu, &spec);
    assert_eq!(status, 0);
    assert_eq!(
        referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE).len(),
        30,
        "6 x 5 frames"
    );
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    assert_eq!((page.width_px, page.height_px), (3000, 2400));
    // 254 mm across holds six 40 mm frames (7 mm spare each side), 203.2 mm down five
    // (1.6 mm): box (c, r) at x = 8 + 40c mm, y = 2.6 + 40r mm, 38 mm square.
    let centre = |c: f64, r: f64| {
        (
            px(8.0 + 19.0 + 40.0 * c) as u32,
            px(2.6 + 19.0 + 40.0 * r) as u32,
        )
    };
    let (x, y) = centre(0.0, 0.0);
    let (x0, x1) = run_at(page, x, y);
    assert_near(x0, px(8.0), "left edge of position 1");
    assert_near(x1 - x0, px(38.0), "a square image fills its SUPERSLIDE box");
    let (y0, y1) = column_run_at(page, x, y);
    assert_near(y0, px(2.6), "top edge");
    assert_near(y1 - y0, px(38.0), "height");
    // Position 8 is column 2 of row 2; position 2, empty, is black.
    let (x, y) = centre(1.0, 1.0);
    let eight = page.at(x, y)[0];
    assert!(eight > 0 && eight < page.at(centre(0.0, 0.0).0, centre(0.0, 0.0).1)[0]);
    assert_eq!(page.at(centre(1.0, 0.0).0, centre(1.0, 0.0).1)[0], 0);
}

fn custom_layout_1_places_a_large_box_above_two() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut spec = FilmSpec::gray("CUSTOM\\1", vec![uniform(0), None, uniform(128)]);
    spec.film_box_extra = vec![
        (tags::BORDER_DENSITY, VR::CS, "WHITE"),
        (tags::EMPTY_IMAGE_DENSITY, VR::CS, "BLACK"),
    ];
    let (status, data) = print_film(&mut scu, &spec);
    assert_eq!(status, 0);
    assert_eq!(
        referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE).len(),
        3
    );
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    // layouts/custom.toml: box 2 is x 0..0.5, y 0.6..1 of the 2400 x 3000 area, less half
    // the 2 mm gap on its inner edges.
    let half_gap = px(2.0) / 2.0;
    let (x0, x1) = run_at(page, 600, 2400);
    assert_eq!(page.at(600, 2400)[0], 0, "box 2 is empty: black");
    assert_eq!(x0, 0);
    assert_near(x1, 1200.0 - half_gap, "right edge of box 2");
    let (y0, y1) = column_run_at(page, 600, 2400);
    assert_near(y0, 1800.0 + half_gap, "top edge of box 2");
    assert_eq!(y1, 3000);
    // Box 3 is a square 1188 px wide: the square image fills it.
    let three = page.at(1800, 2400)[0];
    assert!(three > 0 && three < 255);
    let (x0, x1) = run_at(page, 1800, 2400);
    assert_near(x0, 1200.0 + half_gap, "left edge of box 3");
    assert_eq!(x1, 2400);
    // Box 1 is 2400 x 1788: the square image sits in its middle.
    assert_eq!(page.at(1200, 900)[0], page.at(1200, 100)[0]);
    assert_eq!(
        page.at(100, 900)[0],
        255,
        "border beside the square image of box 1"
    );
}

fn custom_layouts_file_in_layouts_dir_is_used_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let layouts = tmp.path().join("layouts");
    std::fs::create_dir(&layouts).unwrap();
    std::fs::write(
        layouts.join("custom.toml"),
        "[[layout]]\nid = 7\ndescription = \"two columns\"\nboxes = [ { x = 0.0, y = 0.0, width = 0.25, height = 1.0 },\n  { x = 0.25, y = 0.0, width = 0.75, height = 1.0 } ]\n",
    )
    .unwrap();
    let config = format!(
        "[server]\nlayouts_dir = {:?}\n",
        layouts.display().to_string()
    );
    let config_path = tmp.path().join("filmd.toml");
    std::fs::write(&config_path, &config).unwrap();
    let listing = common::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_filmd"))
            .args(["layouts", "--config"])
            .arg(&config_path),
        common::PEER_DEADLINE,
    );
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(
        text.contains("CUSTOM\\7") && text.contains("two columns") && !text.contains("CUSTOM\\1 "),
        "{text}"
    );

    let server = Server::start_with(&[], Some(&config));
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut spec = FilmSpec::gray("CUSTOM\\7", vec![None, uniform(255)]);
    spec.film_box_extra = vec![
        (tags::EMPTY_IMAGE_DENSITY, VR::CS, "BLACK"),
        (tags::BORDER_DENSITY, VR::CS, "WHITE"),
    ];
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    // The embedded layouts are replaced as a whole.
    let session = "1.2.826.0.1.3680043.10.3.1";
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
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(session, "CUSTOM\\1", "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(fb.status(), 0x0106);
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    let (x0, x1) = run_at(page, 300, 1500);
    assert_eq!(
        (x0, page.at(300, 1500)[0]),
        (0, 0),
        "box 1: a quarter of the width, empty"
    );
    assert_near(
        x1,
        600.0 - px(1.0),
        "box 1 ends half a gap before the quarter",
    );

    // A broken file stops check-config (and serve) with the file, the key and the problem.
    std::fs::write(
        layouts.join("custom.toml"),
        "[[layout]]\nid = 7\nboxes = [ { x = 0.5, y = 0.0, width = 0.75, height = 1.0 } ]\n",
    )
    .unwrap();
    let check = common::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_filmd"))
            .arg("check-config")
            .arg(&config_path),
        common::PEER_DEADLINE,
    );
    assert!(!check.status.success());
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("custom.toml")
            && err.contains("layout[0].boxes[0]")
            && err.contains("beyond the printable area"),
        "{err}"
    );
}

fn replicate_prints_600_px_blocks_on_8x10() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let values: Vec<u16> = vec![0, 60, 120, 180, 240, 30, 90, 150, 210, 250, 20, 100];
    let mut spec = FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(gray_image(3, 4, 8, "MONOCHROME2", &values))],
    );
    spec.film_box_extra = vec![
        (tags::MAGNIFICATION_TYPE, VR::CS, "REPLICATE"),
        (tags::BORDER_DENSITY, VR::CS, "WHITE"),
    ];
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    // Box 2400 x 3000, image 4 x 3: factor 600, the image 2400 x 1800 from y = 600.
    let mut grays = Vec::new();
    for (i, _) in values.iter().enumerate() {
        let (bx, by) = ((i % 4) as u32 * 600, 600 + (i / 4) as u32 * 600);
        let g = page.at(bx, by)[0];
        for y in by..by + 600 {
            for x in bx..bx + 600 {
                assert_eq!(page.at(x, y)[0], g, "block {i} is not uniform at ({x},{y})");
            }
        }
        grays.push(g);
    }
    assert!(
        grays.windows(2).all(|w| w[0] != w[1]),
        "neighbouring blocks differ: {grays:?}"
    );
    assert_eq!(page.at(1200, 599)[0], 255);
    assert_eq!(page.at(1200, 2400)[0], 255);
}

fn requested_image_size_prints_the_image_that_many_mm_wide() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut spec = FilmSpec::gray("STANDARD\\1,1", vec![uniform(0)]);
    spec.film_box_extra = vec![(tags::BORDER_DENSITY, VR::CS, "WHITE")];
    spec.image_box_extra = vec![(tags::REQUESTED_IMAGE_SIZE, VR::DS, "100")];
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    let (x0, x1) = run_at(page, 1200, 1500);
    assert!(page.at(1200, 1500)[0] < 255);
    assert_near(x1 - x0, px(100.0), "Requested Image Size 100 mm");
    let (y0, y1) = column_run_at(page, 1200, 1500);
    assert_near(y1 - y0, px(100.0), "a square image 100 mm high too");
    assert_near(x0, (2400.0 - px(100.0)) / 2.0, "centred");
}

/// A session with one film box; returns its film box UID and image box UIDs.
fn film_box_of(scu: &mut Scu, session: &str, format: &str) -> (String, Vec<String>) {
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(session),
            &film_session(1, "sizes")
        )
        .status(),
        0
    );
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(session, format, "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(fb.status(), 0);
    let boxes = referenced_uids(
        fb.data.as_ref().unwrap(),
        tags::REFERENCED_IMAGE_BOX_SEQUENCE,
    );
    (fb.command.affected_sop_instance_uid.unwrap(), boxes)
}

fn decimate_crop_statuses_at_image_box_n_set() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let session = "1.2.826.0.1.3680043.10.3.2";
    let (_, _) = film_box_of(&mut scu, session, "STANDARD\\2,1");
    let wide = || gray_image(100, 1300, 8, "MONOCHROME2", &vec![50; 1300 * 100]);
    let small = || gray_image(64, 64, 8, "MONOCHROME2", &vec![50; 64 * 64]);
    // Each case on a fresh STANDARD\2,1 film box (an N-SET keeps what earlier ones set):
    // on 8INX10IN at 300 dpi its boxes are 1188 x 3000 device pixels, 100.6 mm wide.
    let mut set = |image: InMemDicomObject, extra: &[(dicom_core::Tag, VR, &str)]| {
        let fb = scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_BOX,
            None,
            &film_box(session, "STANDARD\\2,1", "8INX10IN", "PORTRAIT", &[]),
        );
        let boxes = referenced_uids(
            fb.data.as_ref().unwrap(),
            tags::REFERENCED_IMAGE_BOX_SEQUENCE,
        );
        let r = scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            &boxes[0],
            &image_box(1, image, false, extra),
        );
        (
            r.status(),
            r.command.error_comment.clone().unwrap_or_default(),
        )
    };
    let behavior = |b| (tags::REQUESTED_DECIMATE_CROP_BEHAVIOR, VR::CS, b);
    let none = (tags::MAGNIFICATION_TYPE, VR::CS, "NONE");
    let wider_than_the_box = (tags::REQUESTED_IMAGE_SIZE, VR::DS, "150");
    let cases = [
        ("no behavior: demagnified", wide(), vec![], 0xB604),
        ("DECIMATE", wide(), vec![behavior("DECIMATE")], 0xB60A),
        ("CROP", wide(), vec![behavior("CROP")], 0xB609),
        ("FAIL", wide(), vec![behavior("FAIL")], 0xC603),
        ("NONE crops", wide(), vec![none], 0xB609),
        (
            "NONE cannot decimate",
            wide(),
            vec![none, behavior("DECIMATE")],
            0xC603,
        ),
        (
            "NONE with FAIL",
            wide(),
            vec![none, behavior("FAIL")],
            0xC603,
        ),
        (
            "requested size wider than the box",
            small(),
            vec![wider_than_the_box],
            0xB604,
        ),
        (
            "requested size wider than the box, FAIL",
            small(),
            vec![wider_than_the_box, behavior("FAIL")],
            0xC603,
        ),
        (
            "requested size wider than the box, CROP",
            small(),
            vec![wider_than_the_box, behavior("CROP")],
            0xB609,
        ),
        (
            "requested size smaller than the image, DECIMATE",
            wide(),
            vec![
                (tags::REQUESTED_IMAGE_SIZE, VR::DS, "50"),
                behavior("DECIMATE"),
            ],
            0xB60A,
        ),
        // Images that fit their box (or their requested size) print whole, whatever the behavior.
        ("fits, FAIL", small(), vec![behavior("FAIL")], 0),
        (
            "fits its requested size, FAIL",
            small(),
            vec![(tags::REQUESTED_IMAGE_SIZE, VR::DS, "50"), behavior("FAIL")],
            0,
        ),
        ("fits, NONE", small(), vec![none, behavior("DECIMATE")], 0),
    ];
    for (name, image, extra, want) in cases {
        let (status, comment) = set(image, &extra);
        assert_eq!(status, want, "{name}: {comment}");
        assert!(
            status == 0 || comment.contains("image box 1"),
            "{name}: {comment:?}"
        );
    }
    scu.release();
}

fn n_action_checks_images_against_the_film_box_as_it_is_then() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let session = "1.2.826.0.1.3680043.10.3.3";
    let (fb_uid, boxes) = film_box_of(&mut scu, session, "STANDARD\\2,1");
    let wide = gray_image(100, 1300, 8, "MONOCHROME2", &vec![50; 1300 * 100]);
    let r = scu.n_set(
        GRAY_META,
        uids::BASIC_GRAYSCALE_IMAGE_BOX,
        &boxes[0],
        &image_box(
            1,
            wide,
            false,
            &[(tags::REQUESTED_DECIMATE_CROP_BEHAVIOR, VR::CS, "DECIMATE")],
        ),
    );
    assert_eq!(r.status(), 0xB60A, "decimated by the film box's CUBIC");
    // The film box now asks for NONE, which cannot decimate: the print fails, nothing queued.
    let none = InMemDicomObject::from_element_iter([dicom_core::DataElement::new(
        tags::MAGNIFICATION_TYPE,
        VR::CS,
        dicom_core::PrimitiveValue::from("NONE"),
    )]);
    assert_eq!(
        scu.n_set(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid, &none)
            .status(),
        0
    );
    let r = scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid);
    assert_eq!(r.status(), 0xC603, "{:?}", r.command);
    assert!(
        r.command
            .error_comment
            .as_deref()
            .unwrap_or("")
            .contains("image box 1")
    );
    let session_action = scu.n_action(GRAY_META, uids::BASIC_FILM_SESSION, session);
    assert_eq!(session_action.status(), 0xC603);
    // Back to BILINEAR: printed, with the warning of the decimated image.
    let bilinear = InMemDicomObject::from_element_iter([dicom_core::DataElement::new(
        tags::MAGNIFICATION_TYPE,
        VR::CS,
        dicom_core::PrimitiveValue::from("BILINEAR"),
    )]);
    assert_eq!(
        scu.n_set(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid, &bilinear)
            .status(),
        0
    );
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid)
            .status(),
        0xB60A
    );
    assert_eq!(
        scu.n_action(GRAY_META, uids::BASIC_FILM_SESSION, session)
            .status(),
        0xB60A
    );
    scu.release();
    let pdfs = server.wait_pdfs(2);
    assert_eq!(pdfs.len(), 2, "the failed N-ACTIONs printed nothing");
    // Decimated: the whole 1300-column image across the 1188 px box, 91 px high.
    let page = &pages(&pdfs[0])[0];
    let (x0, x1) = run_at(page, 594, 1500);
    assert_eq!((x0, x1), (0, 1188));
}
