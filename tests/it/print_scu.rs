//! End-to-end Print SCP tests with a Rust SCU (dicom-ul client): every film lands as a PDF
//! page as CONFORMANCE.md states it.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::pdf::pages;
use common::scu::*;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use filmd::print::uids;

pub fn tests() -> Vec<Test> {
    trials![
        standard_layout_prints_one_page_per_contract,
        row_layout_landscape_places_boxes_per_row,
        col_layout_numbers_boxes_down_each_column,
        twelve_bit_monochrome1_and_reverse_invert_the_tone,
        border_and_empty_image_density_and_max_density,
        color_film_is_an_rgb_page,
        session_print_puts_every_film_box_on_its_own_page,
        print_job_events_arrive_in_order_and_n_get_answers,
        printer_and_printer_configuration_n_get,
        eight_associations_printing_at_once_all_succeed,
        presentation_luts_shape_the_tone,
        annotation_boxes_are_created_and_set,
        retired_print_classes_are_refused_one_by_one_and_the_rest_works,
        gray_only_queues_refuse_or_convert_color_films_as_configured,
        a_queue_refuses_display_formats_it_does_not_list,
    ]
}

fn uniform8(v: u16) -> Option<dicom_object::InMemDicomObject> {
    Some(gray_image(64, 64, 8, "MONOCHROME2", &vec![v; 64 * 64]))
}

fn uniform12(v: u16, photometric: &str) -> Option<dicom_object::InMemDicomObject> {
    Some(gray_image(32, 32, 12, photometric, &vec![v; 32 * 32]))
}

fn standard_layout_prints_one_page_per_contract() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut spec = FilmSpec::gray(
        "STANDARD\\2,2",
        vec![uniform8(0), uniform8(85), uniform8(170), uniform8(255)],
    );
    spec.size = "14INX17IN";
    spec.film_box_extra = vec![(tags::BORDER_DENSITY, VR::CS, "WHITE")];
    let (status, data) = print_film(&mut scu, &spec);
    assert_eq!(status, 0);
    assert_eq!(
        referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE).len(),
        4
    );
    scu.release();
    let pdfs = server.wait_pdfs(1);
    assert_eq!(pdfs.len(), 1);
    let p = pages(&pdfs[0]);
    assert_eq!(p.len(), 1);
    let page = &p[0];
    assert!(
        (page.width_pt - 1008.0).abs() < 0.01 && (page.height_pt - 1224.0).abs() < 0.01,
        "{} x {}",
        page.width_pt,
        page.height_pt
    );
    assert_eq!((page.width_px, page.height_px), (4200, 5100));
    assert_eq!((page.channels, page.bits_per_component), (1, 8));
    let (dx, dy) = page.dpi();
    assert!((dx - 300.0).abs() < 0.01 && (dy - 300.0).abs() < 0.01);
    // Positions row by row from the top left; higher values print lighter.
    let centres = [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)];
    let g: Vec<u8> = centres.iter().map(|&(x, y)| page.gray_at(x, y)).collect();
    assert!(
        g[0] < g[1] && g[1] < g[2] && g[2] < g[3],
        "tone not monotonic: {g:?}"
    );
    // Border WHITE: the page corner and the strip above the square image are white.
    assert_eq!(page.at(0, 0)[0], 255);
    assert_eq!(page.gray_at(0.25, 0.02), 255);
    // The archive PDF is PDF/A-2b and its XMP names the job, the sender and the film.
    let xmp = |name: &str| common::pdf::xmp_values(&pdfs[0], name);
    assert_eq!(xmp("part"), ["2"]);
    assert_eq!(xmp("conformance"), ["B"]);
    assert_eq!(xmp("filmSessionLabel"), ["test film"]);
    assert_eq!(xmp("callingAETitle"), ["TESTSCU"]);
    assert_eq!(xmp("filmSizeID"), ["14INX17IN"]);
    assert_eq!(xmp("imageDisplayFormat"), ["STANDARD\\2,2"]);
    assert_eq!(xmp("filmOrientation"), ["PORTRAIT"]);
    let uid = xmp("printJobUID");
    assert!(uid[0].starts_with("2.25."), "{uid:?}");
    assert_eq!(
        xmp("jobID"),
        [pdfs[0].file_stem().unwrap().to_string_lossy()]
    );
    // A small PNG preview is kept with the job.
    let id = pdfs[0].file_stem().unwrap().to_string_lossy().to_string();
    let preview = server.data_dir.join("previews").join(format!("{id}-1.png"));
    let reader = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&preview).unwrap(),
    ))
    .read_info()
    .unwrap();
    let info = reader.info();
    assert_eq!(
        (info.width, info.height),
        (422, 512),
        "longer side 512, aspect kept"
    );
}

fn row_layout_landscape_places_boxes_per_row() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut spec = FilmSpec::gray("ROW\\1,2", vec![uniform8(255), uniform8(0), uniform8(128)]);
    spec.size = "8INX10IN";
    spec.orientation = "LANDSCAPE";
    let (status, _) = print_film(&mut scu, &spec);
    assert_eq!(status, 0);
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    assert!((page.width_pt - 720.0).abs() < 0.01 && (page.height_pt - 576.0).abs() < 0.01);
    assert_eq!((page.width_px, page.height_px), (3000, 2400));
    let top = page.gray_at(0.5, 0.25);
    let bottom_left = page.gray_at(0.25, 0.75);
    let bottom_right = page.gray_at(0.75, 0.75);
    assert!(
        top > bottom_right && bottom_right > bottom_left,
        "top {top} bl {bottom_left} br {bottom_right}"
    );
}

fn col_layout_numbers_boxes_down_each_column() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let spec = FilmSpec::gray("COL\\2,1", vec![uniform8(0), uniform8(128), uniform8(255)]);
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    let (tl, bl, right) = (
        page.gray_at(0.25, 0.25),
        page.gray_at(0.25, 0.75),
        page.gray_at(0.75, 0.5),
    );
    assert!(
        tl < bl && bl < right,
        "column order wrong: {tl} {bl} {right}"
    );
}

fn twelve_bit_monochrome1_and_reverse_invert_the_tone() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    for (photometric, polarity) in [
        ("MONOCHROME2", "NORMAL"),
        ("MONOCHROME1", "NORMAL"),
        ("MONOCHROME2", "REVERSE"),
        ("MONOCHROME1", "REVERSE"),
    ] {
        let mut spec = FilmSpec::gray(
            "STANDARD\\2,1",
            vec![uniform12(0, photometric), uniform12(4095, photometric)],
        );
        spec.image_box_extra = vec![(tags::POLARITY, VR::CS, polarity)];
        assert_eq!(print_film(&mut scu, &spec).0, 0);
    }
    let pdfs = server.wait_pdfs(4);
    let lr: Vec<(u8, u8)> = pdfs
        .iter()
        .map(|p| {
            let page = &pages(p)[0];
            (page.gray_at(0.25, 0.5), page.gray_at(0.75, 0.5))
        })
        .collect();
    assert!(
        lr[0].0 < lr[0].1,
        "MONOCHROME2: 4095 prints lighter than 0: {lr:?}"
    );
    assert!(lr[1].0 > lr[1].1, "MONOCHROME1 inverts: {lr:?}");
    assert!(lr[2].0 > lr[2].1, "REVERSE inverts: {lr:?}");
    assert!(lr[3].0 < lr[3].1, "MONOCHROME1 with REVERSE cancel: {lr:?}");
    assert_eq!(lr[0], lr[3]);
    assert_eq!((lr[1].0, lr[1].1), (lr[0].1, lr[0].0));
}

fn border_and_empty_image_density_and_max_density() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let mut spec = FilmSpec::gray("STANDARD\\2,1", vec![uniform8(0), None]);
    spec.film_box_extra = vec![
        (tags::BORDER_DENSITY, VR::CS, "BLACK"),
        (tags::EMPTY_IMAGE_DENSITY, VR::CS, "WHITE"),
    ];
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    let mut lighter = FilmSpec::gray("STANDARD\\2,1", vec![uniform8(0), None]);
    lighter.film_box_extra = vec![
        (tags::BORDER_DENSITY, VR::CS, "WHITE"),
        (tags::EMPTY_IMAGE_DENSITY, VR::CS, "BLACK"),
        (tags::MAX_DENSITY, VR::US, "150"),
    ];
    assert_eq!(print_film(&mut scu, &lighter).0, 0);
    let pdfs = server.wait_pdfs(2);
    let a = &pages(&pdfs[0])[0];
    let b = &pages(&pdfs[1])[0];
    assert_eq!(a.at(0, 0)[0], 0, "BLACK border");
    assert_eq!(a.gray_at(0.75, 0.5), 255, "WHITE empty image box");
    assert_eq!(b.at(0, 0)[0], 255, "WHITE border");
    assert_eq!(b.gray_at(0.75, 0.5), 0, "BLACK empty image box");
    assert!(
        b.gray_at(0.25, 0.5) > a.gray_at(0.25, 0.5),
        "a lower Max Density prints the darkest value lighter"
    );
}

fn color_film_is_an_rgb_page() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[COLOR_META]);
    let img = rgb_image(16, 16, &vec![[255, 0, 0]; 256]);
    let img2 = rgb_image(16, 16, &vec![[0, 0, 255]; 256]);
    let spec = FilmSpec {
        meta: COLOR_META,
        ..FilmSpec::gray("STANDARD\\2,1", vec![Some(img), Some(img2)])
    };
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    assert_eq!(page.channels, 3);
    let x = page.width_px / 4;
    let y = page.height_px / 2;
    assert_eq!(page.at(x, y), &[255, 0, 0]);
    assert_eq!(page.at(3 * x, y), &[0, 0, 255]);
}

fn session_print_puts_every_film_box_on_its_own_page() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let session = "1.2.826.0.1.3680043.10.1.77";
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(session),
            &film_session(1, "two films")
        )
        .status(),
        0
    );
    for (format, value) in [("STANDARD\\1,1", 0u16), ("STANDARD\\1,1", 255)] {
        let fb = scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_BOX,
            None,
            &film_box(session, format, "A4", "PORTRAIT", &[]),
        );
        assert_eq!(fb.status(), 0);
        let boxes = referenced_uids(
            fb.data.as_ref().unwrap(),
            tags::REFERENCED_IMAGE_BOX_SEQUENCE,
        );
        let r = scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            &boxes[0],
            &image_box(1, uniform8(value).unwrap(), false, &[]),
        );
        assert_eq!(r.status(), 0);
    }
    let r = scu.n_action(GRAY_META, uids::BASIC_FILM_SESSION, session);
    assert_eq!(r.status(), 0);
    assert!(
        r.data.is_none(),
        "no Print Job context: the reply has no data set"
    );
    scu.release();
    let pdfs = server.wait_pdfs(1);
    let p = pages(&pdfs[0]);
    assert_eq!(p.len(), 2, "one page per film box in print order");
    assert!((p[0].width_pt - 595.28).abs() < 0.05 && (p[0].height_pt - 841.89).abs() < 0.05);
    assert!(p[0].gray_at(0.5, 0.5) < p[1].gray_at(0.5, 0.5));
}

fn print_job_events_arrive_in_order_and_n_get_answers() {
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META, uids::PRINT_JOB]);
    let session = "1.2.826.0.1.3680043.10.1.78";
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(session),
            &film_session(1, "events")
        )
        .status(),
        0
    );
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(session, "STANDARD\\1,1", "8INX10IN", "PORTRAIT", &[]),
    );
    let fb_uid = fb.command.affected_sop_instance_uid.clone().unwrap();
    let boxes = referenced_uids(
        fb.data.as_ref().unwrap(),
        tags::REFERENCED_IMAGE_BOX_SEQUENCE,
    );
    assert_eq!(
        scu.n_set(
            GRAY_META,
            uids::BASIC_GRAYSCALE_IMAGE_BOX,
            &boxes[0],
            &image_box(1, uniform8(9).unwrap(), false, &[])
        )
        .status(),
        0
    );
    let r = scu.n_action(GRAY_META, uids::BASIC_FILM_BOX, &fb_uid);
    assert_eq!(r.status(), 0);
    let jobs = referenced_uids(
        r.data.as_ref().expect("Referenced Print Job Sequence"),
        filmd::print::print_job::REFERENCED_PRINT_JOB_SEQUENCE,
    );
    assert_eq!(jobs.len(), 1);
    scu.wait_events(3);
    let kinds: Vec<u16> = scu
        .events
        .iter()
        .map(|e| e.event_type_id.unwrap())
        .collect();
    assert_eq!(kinds, vec![1, 2, 3], "PENDING, PRINTING, DONE");
    assert!(
        scu.events
            .iter()
            .all(|e| e.affected_sop_instance_uid.as_deref() == Some(jobs[0].as_str()))
    );
    let done = scu.event_data[2].as_ref().unwrap();
    assert_eq!(
        done.element(tags::FILM_SESSION_LABEL)
            .unwrap()
            .to_str()
            .unwrap(),
        "events"
    );
    // After DONE the Print Job instance is deleted (PS3.4 H.4.8).
    assert_eq!(
        scu.n_get(uids::PRINT_JOB, uids::PRINT_JOB, &jobs[0], &[])
            .status(),
        0x0112
    );
    assert_eq!(server.wait_pdfs(1).len(), 1);
}

fn printer_and_printer_configuration_n_get() {
    let server = Server::start();
    let mut scu = Scu::connect(
        server.port,
        &[GRAY_META, uids::PRINTER_CONFIGURATION_RETRIEVAL],
    );
    let r = scu.n_get(GRAY_META, uids::PRINTER, uids::PRINTER_INSTANCE, &[]);
    assert_eq!(r.status(), 0);
    let d = r.data.unwrap();
    assert_eq!(
        d.element(tags::PRINTER_STATUS).unwrap().to_str().unwrap(),
        "NORMAL"
    );
    for t in [
        tags::PRINTER_STATUS_INFO,
        tags::PRINTER_NAME,
        tags::MANUFACTURER,
        tags::MANUFACTURER_MODEL_NAME,
        tags::DEVICE_SERIAL_NUMBER,
        tags::SOFTWARE_VERSIONS,
        tags::DATE_OF_LAST_CALIBRATION,
        tags::TIME_OF_LAST_CALIBRATION,
    ] {
        assert!(d.get(t).is_some(), "{t} missing");
    }
    let only = scu.n_get(
        GRAY_META,
        uids::PRINTER,
        uids::PRINTER_INSTANCE,
        &[0x2110_0010],
    );
    assert_eq!(
        only.data.unwrap().iter().count(),
        1,
        "Attribute Identifier List honoured"
    );
    let wrong = scu.n_get(GRAY_META, uids::PRINTER, "1.2.3.4", &[]);
    assert_eq!(wrong.status(), 0x0112);
    let c = scu.n_get(
        uids::PRINTER_CONFIGURATION_RETRIEVAL,
        uids::PRINTER_CONFIGURATION_RETRIEVAL,
        uids::PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
        &[],
    );
    assert_eq!(c.status(), 0);
    let items = c.data.unwrap();
    let seq = items
        .element(tags::PRINTER_CONFIGURATION_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .to_vec();
    assert_eq!(seq.len(), 1);
    let media = seq[0]
        .element(tags::MEDIA_INSTALLED_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .len();
    assert_eq!(media, 5 * 12, "every medium × film size the queue loads");
    let cs = |tag| {
        seq[0]
            .element(tag)
            .unwrap()
            .to_multi_str()
            .unwrap()
            .iter()
            .map(|s| s.trim().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(cs(tags::DEFAULT_SMOOTHING_TYPE), ["SHARP"]);
    assert_eq!(
        cs(tags::OTHER_SMOOTHING_TYPES_AVAILABLE),
        ["MEDIUM", "SMOOTH"]
    );
    assert_eq!(
        cs(tags::OTHER_MAGNIFICATION_TYPES_AVAILABLE),
        ["REPLICATE", "BILINEAR", "CUBIC", "NONE"]
    );
}

fn eight_associations_printing_at_once_all_succeed() {
    let server = Server::start();
    let port = server.port;
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut scu = Scu::connect(port, &[GRAY_META]);
                let pixels: Vec<u16> = (0..256 * 256)
                    .map(|p| ((p % 256) as u16 * 16 + i) % 4096)
                    .collect();
                let img = gray_image(256, 256, 12, "MONOCHROME2", &pixels);
                let mut spec = FilmSpec::gray(
                    "STANDARD\\2,2",
                    vec![
                        Some(img.clone()),
                        Some(img.clone()),
                        Some(img.clone()),
                        Some(img),
                    ],
                );
                spec.size = "14INX17IN";
                let (status, _) = print_film(&mut scu, &spec);
                scu.release();
                status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 0);
    }
    let pdfs = server.wait_pdfs(8);
    assert_eq!(pdfs.len(), 8);
    for p in pdfs {
        let pg = pages(&p);
        assert_eq!(pg.len(), 1);
        assert_eq!((pg[0].width_px, pg[0].height_px), (4200, 5100));
    }
}

fn presentation_luts_shape_the_tone() {
    use dicom_core::{DataElement, PrimitiveValue};
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META, uids::PRESENTATION_LUT]);
    // An inverting explicit LUT: 256 entries, 12 bits out.
    let table: Vec<u16> = (0..256u16).map(|i| (255 - i) * 16).collect();
    let item = dicom_object::InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::LUT_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16([256u16, 0, 12].into_iter().collect()),
        ),
        DataElement::new(
            tags::LUT_DATA,
            VR::US,
            PrimitiveValue::U16(table.into_iter().collect()),
        ),
    ]);
    let lut = dicom_object::InMemDicomObject::from_element_iter([DataElement::new(
        tags::PRESENTATION_LUT_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![item]),
    )]);
    let r = scu.n_create(uids::PRESENTATION_LUT, uids::PRESENTATION_LUT, None, &lut);
    assert_eq!(r.status(), 0);
    let lut_uid = r.command.affected_sop_instance_uid.unwrap();
    let both = dicom_object::InMemDicomObject::from_element_iter([DataElement::new(
        tags::PRESENTATION_LUT_SHAPE,
        VR::CS,
        PrimitiveValue::from("BOGUS"),
    )]);
    assert_eq!(
        scu.n_create(uids::PRESENTATION_LUT, uids::PRESENTATION_LUT, None, &both)
            .status(),
        0x0106
    );
    let mut spec = FilmSpec::gray("STANDARD\\2,1", vec![uniform8(0), uniform8(255)]);
    let seq_holder = reference(uids::PRESENTATION_LUT, &lut_uid);
    let _ = seq_holder;
    // Reference the LUT from the film box.
    spec.film_box_extra = vec![];
    let session = "1.2.826.0.1.3680043.10.1.79";
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(session),
            &film_session(1, "lut")
        )
        .status(),
        0
    );
    let mut fb_data = film_box(session, spec.format, "8INX10IN", "PORTRAIT", &[]);
    fb_data.put(DataElement::new(
        tags::REFERENCED_PRESENTATION_LUT_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![reference(uids::PRESENTATION_LUT, &lut_uid)]),
    ));
    let fb = scu.n_create(GRAY_META, uids::BASIC_FILM_BOX, None, &fb_data);
    assert_eq!(fb.status(), 0);
    let boxes = referenced_uids(
        fb.data.as_ref().unwrap(),
        tags::REFERENCED_IMAGE_BOX_SEQUENCE,
    );
    for (i, v) in [0u16, 255].iter().enumerate() {
        assert_eq!(
            scu.n_set(
                GRAY_META,
                uids::BASIC_GRAYSCALE_IMAGE_BOX,
                &boxes[i],
                &image_box(i as u16 + 1, uniform8(*v).unwrap(), false, &[])
            )
            .status(),
            0
        );
    }
    assert_eq!(
        scu.n_action(
            GRAY_META,
            uids::BASIC_FILM_BOX,
            fb.command.affected_sop_instance_uid.as_deref().unwrap()
        )
        .status(),
        0
    );
    assert_eq!(
        scu.n_delete(uids::PRESENTATION_LUT, uids::PRESENTATION_LUT, &lut_uid)
            .status(),
        0
    );
    assert_eq!(
        scu.n_delete(uids::PRESENTATION_LUT, uids::PRESENTATION_LUT, &lut_uid)
            .status(),
        0x0112
    );
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    assert!(
        page.gray_at(0.25, 0.5) > page.gray_at(0.75, 0.5),
        "the inverting LUT prints 0 lighter than 255"
    );
}

fn annotation_boxes_are_created_and_set() {
    use dicom_core::{DataElement, PrimitiveValue};
    let server = Server::start();
    let mut scu = Scu::connect(server.port, &[GRAY_META, uids::BASIC_ANNOTATION_BOX]);
    let session = "1.2.826.0.1.3680043.10.1.80";
    assert_eq!(
        scu.n_create(
            GRAY_META,
            uids::BASIC_FILM_SESSION,
            Some(session),
            &film_session(1, "ann")
        )
        .status(),
        0
    );
    let fb = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(
            session,
            "STANDARD\\1,1",
            "8INX10IN",
            "PORTRAIT",
            &[(tags::ANNOTATION_DISPLAY_FORMAT_ID, VR::CS, "TOP_BOTTOM")],
        ),
    );
    assert_eq!(fb.status(), 0);
    let anns = referenced_uids(
        fb.data.as_ref().unwrap(),
        tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE,
    );
    assert_eq!(anns.len(), 2);
    let set = dicom_object::InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::ANNOTATION_POSITION,
            VR::US,
            PrimitiveValue::from(1u16),
        ),
        DataElement::new(
            tags::TEXT_STRING,
            VR::LO,
            PrimitiveValue::from("Patient^Test"),
        ),
    ]);
    assert_eq!(
        scu.n_set(
            uids::BASIC_ANNOTATION_BOX,
            uids::BASIC_ANNOTATION_BOX,
            &anns[0],
            &set
        )
        .status(),
        0
    );
    assert_eq!(
        scu.n_set(
            uids::BASIC_ANNOTATION_BOX,
            uids::BASIC_ANNOTATION_BOX,
            &anns[1],
            &set
        )
        .status(),
        0x0106,
        "position 1 sent to box 2"
    );
    assert_eq!(
        scu.n_set(
            uids::BASIC_ANNOTATION_BOX,
            uids::BASIC_ANNOTATION_BOX,
            "1.2.3",
            &set
        )
        .status(),
        0x0112
    );
    let bad = film_box(
        session,
        "STANDARD\\1,1",
        "8INX10IN",
        "PORTRAIT",
        &[(tags::ANNOTATION_DISPLAY_FORMAT_ID, VR::CS, "NOPE")],
    );
    assert_eq!(
        scu.n_create(GRAY_META, uids::BASIC_FILM_BOX, None, &bad)
            .status(),
        0x0106
    );
}

fn retired_print_classes_are_refused_one_by_one_and_the_rest_works() {
    let server = Server::start();
    let retired = [
        "1.2.840.10008.5.1.1.22",  // VOI LUT Box
        "1.2.840.10008.5.1.1.24",  // Image Overlay Box
        "1.2.840.10008.5.1.1.26",  // Print Queue Management
        "1.2.840.10008.5.1.1.31",  // Pull Print Request
        "1.2.840.10008.5.1.1.9.1", // Referenced Grayscale Print Management Meta
    ];
    let mut wanted: Vec<&str> = retired.to_vec();
    wanted.push(GRAY_META);
    let mut scu = Scu::connect(server.port, &wanted);
    for r in retired {
        assert!(scu.context(r).is_none(), "{r} must be refused");
    }
    assert!(scu.context(GRAY_META).is_some());
    assert_eq!(scu.echo(), 0);
    let (status, _) = print_film(
        &mut scu,
        &FilmSpec::gray("STANDARD\\1,1", vec![uniform8(50)]),
    );
    assert_eq!(status, 0);
    scu.release();
    assert_eq!(server.wait_pdfs(1).len(), 1);
}

fn gray_only_queues_refuse_or_convert_color_films_as_configured() {
    let config = r#"
[[queue]]
name = "color"
ae_titles = ["FILMD"]

[[queue]]
name = "gray"
ae_titles = ["GRAYONLY"]
color = false

[[queue]]
name = "grayconv"
ae_titles = ["GRAYCONV"]
color = false
color_films = "convert"
"#;
    let server = Server::start_with(&[], Some(config));
    // Refused at negotiation: the colour Meta SOP class is not accepted for GRAYONLY.
    let scu = Scu::try_connect(server.port, "GRAYONLY", &[COLOR_META, GRAY_META]).unwrap();
    assert!(scu.context(COLOR_META).is_none(), "colour context rejected");
    assert!(
        scu.context(GRAY_META).is_some(),
        "grayscale context accepted"
    );
    scu.release();

    // Converted: accepted, composed as a gray page holding each colour's luminance.
    let mut scu = Scu::try_connect(server.port, "GRAYCONV", &[COLOR_META]).unwrap();
    assert!(scu.context(COLOR_META).is_some());
    let red = rgb_image(16, 16, &vec![[255, 0, 0]; 256]);
    let blue = rgb_image(16, 16, &vec![[0, 0, 255]; 256]);
    let spec = FilmSpec {
        meta: COLOR_META,
        ..FilmSpec::gray("STANDARD\\2,1", vec![Some(red), Some(blue)])
    };
    assert_eq!(print_film(&mut scu, &spec).0, 0);
    scu.release();
    let page = &pages(&server.wait_pdfs(1)[0])[0];
    assert_eq!(page.channels, 1, "a gray page");
    let (x, y) = (page.width_px / 4, page.height_px / 2);
    // Relative luminance 0.2126 (red) and 0.0722 (blue), sRGB-encoded.
    assert_eq!(page.at(x, y), &[127]);
    assert_eq!(page.at(3 * x, y), &[76]);
}

fn a_queue_refuses_display_formats_it_does_not_list() {
    let server = Server::start_with(
        &[],
        Some("[[queue]]\nname = \"std\"\ndisplay_formats = [\"STANDARD\"]\n"),
    );
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let session = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_SESSION,
        None,
        &film_session(1, "layouts"),
    );
    assert_eq!(session.status(), 0);
    let session_uid = session.command.affected_sop_instance_uid.clone().unwrap();
    let refused = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(&session_uid, "ROW\\1,2", "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(refused.status(), 0x0106, "invalid attribute value");
    let accepted = scu.n_create(
        GRAY_META,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(&session_uid, "STANDARD\\1,2", "8INX10IN", "PORTRAIT", &[]),
    );
    assert_eq!(accepted.status(), 0);
    scu.release();
}
