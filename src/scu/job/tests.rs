//! Unit tests of `filmd print`'s pure parts: the destination, how images split into
//! films, the request data sets (only what was given), and the status wording.

use super::plan::{self, Destination, Given, plan_films};
use super::report::{self, status_line, status_meaning};
use crate::film::{Image, Photometric, Pixels};
use crate::render::FilmOptions;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

fn film_options(annotations: Vec<String>) -> FilmOptions {
    FilmOptions {
        display_format: r"STANDARD\2,2".into(),
        film_size: "14INX17IN".into(),
        orientation: "PORTRAIT".into(),
        magnification: None,
        border_density: "BLACK".into(),
        empty_image_density: "BLACK".into(),
        min_density: None,
        max_density: None,
        polarity: "NORMAL".into(),
        medium: None,
        trim: false,
        annotation_format: None,
        annotations,
    }
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

fn u16s(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<u16> {
    obj.get(tag)
        .and_then(|e| e.value().to_multi_int::<u16>().ok())
        .unwrap_or_default()
}

#[test]
fn five_images_on_four_boxes_are_two_films_the_last_partly_filled() {
    assert_eq!(plan_films(5, 4), vec![0..4, 4..5]);
    assert_eq!(plan_films(8, 4), vec![0..4, 4..8]);
    assert_eq!(plan_films(1, 1), vec![0..1]);
    assert_eq!(plan_films(3, 12), vec![0..3]);
    assert!(plan_films(0, 4).is_empty());
    assert!(plan_films(5, 0).is_empty(), "no boxes, no films");
}

#[test]
fn every_image_is_on_exactly_one_film_in_order() {
    for images in 0..40 {
        for boxes in 1..10 {
            let films = plan_films(images, boxes);
            let flat: Vec<usize> = films.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(flat, (0..images).collect::<Vec<_>>());
            assert!(films.iter().all(|r| !r.is_empty() && r.len() <= boxes));
            assert_eq!(films.len(), images.div_ceil(boxes));
        }
    }
}

#[test]
fn destination_is_ae_at_host_colon_port() {
    assert_eq!(
        Destination::parse("PRINTSCP@127.0.0.1:11112"),
        Ok(Destination {
            ae_title: "PRINTSCP".into(),
            host: "127.0.0.1".into(),
            port: 11112
        })
    );
    let v6 = Destination::parse("LASER@[::1]:104").unwrap();
    assert_eq!((v6.host.as_str(), v6.port), ("::1", 104));
    assert_eq!(v6.to_string(), "LASER@[::1]:104");
    assert_eq!(
        Destination::parse("A B@printer.example:104")
            .unwrap()
            .ae_title,
        "A B"
    );
    for bad in [
        "127.0.0.1:104",
        "PRINT@127.0.0.1",
        "@127.0.0.1:104",
        "SEVENTEEN_CHARS_X@h:104",
        "PRINT@h:0",
        "PRINT@h:70000",
        "PRINT@:104",
        r"PR\INT@h:104",
    ] {
        assert!(Destination::parse(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn film_box_holds_the_format_and_session_and_only_given_options() {
    let film = FilmOptions {
        magnification: Some("CUBIC".into()),
        ..film_options(Vec::new())
    };
    let none = plan::film_box("1.2.3", &film, &Given::new());
    assert_eq!(
        text(&none, tags::IMAGE_DISPLAY_FORMAT).as_deref(),
        Some(r"STANDARD\2,2")
    );
    assert!(none.get(tags::REFERENCED_FILM_SESSION_SEQUENCE).is_some());
    for tag in [
        tags::FILM_SIZE_ID,
        tags::FILM_ORIENTATION,
        tags::MAGNIFICATION_TYPE,
        tags::BORDER_DENSITY,
        tags::EMPTY_IMAGE_DENSITY,
        tags::MIN_DENSITY,
        tags::MAX_DENSITY,
        tags::TRIM,
    ] {
        assert!(none.get(tag).is_none(), "{tag} sent though not given");
    }
    let given: Given = ["film_size", "border_density", "magnification"]
        .into_iter()
        .map(String::from)
        .collect();
    let film = FilmOptions {
        max_density: Some(310),
        trim: true,
        ..film
    };
    let some = plan::film_box("1.2.3", &film, &given);
    assert_eq!(
        text(&some, tags::FILM_SIZE_ID).as_deref(),
        Some("14INX17IN")
    );
    assert_eq!(text(&some, tags::BORDER_DENSITY).as_deref(), Some("BLACK"));
    assert_eq!(
        text(&some, tags::MAGNIFICATION_TYPE).as_deref(),
        Some("CUBIC")
    );
    assert_eq!(u16s(&some, tags::MAX_DENSITY), vec![310]);
    assert_eq!(text(&some, tags::TRIM).as_deref(), Some("YES"));
    assert!(some.get(tags::FILM_ORIENTATION).is_none());
}

#[test]
fn film_session_holds_only_what_was_given() {
    assert!(
        plan::film_session(None, None, None, None)
            .iter()
            .next()
            .is_none()
    );
    let s = plan::film_session(Some(2), Some("HIGH"), Some("PAPER"), Some("CT chest"));
    assert_eq!(text(&s, tags::NUMBER_OF_COPIES).as_deref(), Some("2"));
    assert_eq!(text(&s, tags::PRINT_PRIORITY).as_deref(), Some("HIGH"));
    assert_eq!(text(&s, tags::MEDIUM_TYPE).as_deref(), Some("PAPER"));
    assert_eq!(
        text(&s, tags::FILM_SESSION_LABEL).as_deref(),
        Some("CT chest")
    );
}

fn gray12(values: &[u16], rows: u32, columns: u32) -> Image {
    Image {
        rows,
        columns,
        photometric: Photometric::Monochrome2,
        bits_stored: 12,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    }
}

#[test]
fn a_12_bit_image_goes_as_bits_stored_12_in_16() {
    let item = plan::image_sequence_item(&gray12(&[0, 4095, 2048, 1], 2, 2), false).unwrap();
    assert_eq!(u16s(&item, tags::BITS_ALLOCATED), vec![16]);
    assert_eq!(u16s(&item, tags::BITS_STORED), vec![12]);
    assert_eq!(u16s(&item, tags::HIGH_BIT), vec![11]);
    assert_eq!(
        text(&item, tags::PHOTOMETRIC_INTERPRETATION).as_deref(),
        Some("MONOCHROME2")
    );
    let bytes = item.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    assert_eq!(&bytes[..], &[0, 0, 0xFF, 0x0F, 0, 0x08, 1, 0]);
    assert!(
        item.get(tags::PIXEL_ASPECT_RATIO).is_none(),
        "1:1 is not sent"
    );
}

#[test]
fn on_a_colour_film_gray_becomes_rgb_by_plane_and_monochrome1_is_inverted() {
    let mut image = gray12(&[0, 4095], 1, 2);
    image.pixel_aspect_ratio = (2, 1);
    let item = plan::image_sequence_item(&image, true).unwrap();
    assert_eq!(u16s(&item, tags::SAMPLES_PER_PIXEL), vec![3]);
    assert_eq!(u16s(&item, tags::PLANAR_CONFIGURATION), vec![1]);
    assert_eq!(u16s(&item, tags::BITS_ALLOCATED), vec![8]);
    let bytes = item.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    assert_eq!(
        &bytes[..],
        &[0, 255, 0, 255, 0, 255],
        "R plane, G plane, B plane"
    );
    assert_eq!(
        text(&item, tags::PIXEL_ASPECT_RATIO).as_deref(),
        Some(r"2\1")
    );
    let m1 = Image {
        photometric: Photometric::Monochrome1,
        bits_stored: 8,
        pixels: Pixels::new(vec![0, 200]),
        ..gray12(&[0, 0], 1, 2)
    };
    assert_eq!(plan::to_rgb(&m1), vec![255, 255, 255, 55, 55, 55]);
}

#[test]
fn a_colour_image_on_a_grayscale_film_or_a_short_buffer_is_an_error() {
    let rgb = Image {
        photometric: Photometric::Rgb,
        bits_stored: 8,
        pixels: Pixels::new(vec![1, 2, 3]),
        ..gray12(&[0], 1, 1)
    };
    assert!(plan::image_sequence_item(&rgb, false).is_err());
    assert!(plan::image_sequence_item(&rgb, true).is_ok());
    let short = Image {
        pixels: Pixels::new(vec![0; 3]),
        ..gray12(&[0, 0], 1, 2)
    };
    assert!(plan::image_sequence_item(&short, false).is_err());
}

#[test]
fn image_box_sends_polarity_only_when_given_and_annotations_fit_lo() {
    let item = plan::image_sequence_item(&gray12(&[1], 1, 1), false).unwrap();
    let b = plan::image_box(3, item.clone(), false, None);
    assert_eq!(u16s(&b, tags::IMAGE_BOX_POSITION), vec![3]);
    assert!(b.get(tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE).is_some());
    assert!(b.get(tags::POLARITY).is_none());
    let b = plan::image_box(1, item, true, Some("REVERSE"));
    assert!(b.get(tags::BASIC_COLOR_IMAGE_SEQUENCE).is_some());
    assert_eq!(text(&b, tags::POLARITY).as_deref(), Some("REVERSE"));
    let a = plan::annotation_box(2, &format!("{}\\x", "y".repeat(70)));
    assert_eq!(u16s(&a, tags::ANNOTATION_POSITION), vec![2]);
    assert_eq!(text(&a, tags::TEXT_STRING).unwrap(), "y".repeat(64));
}

#[test]
fn statuses_are_worded_with_the_standards_meaning() {
    assert_eq!(status_meaning(0x0000), "Success");
    assert_eq!(
        status_meaning(0xB603),
        "Warning: Film Box SOP Instance hierarchy does not contain Image Box SOP Instances (empty page)"
    );
    assert_eq!(status_meaning(0x0106), "Failure: Invalid attribute value");
    assert_eq!(
        status_meaning(0xC602),
        "Failure: Unable to create Print Job SOP Instance; print queue is full"
    );
    assert_eq!(status_meaning(0x0122), "Refused: SOP Class not supported");
    assert_eq!(status_meaning(0xB6FF), "Warning");
    assert_eq!(status_meaning(0xA701), "Refused");
    assert_eq!(status_meaning(0xC999), "Error: Cannot understand");
    assert_eq!(status_meaning(0x0999), "Failure");
    assert_eq!(
        status_line(
            "Film Box N-CREATE (film 1)",
            0x0106,
            Some(" Film Size ID 99X99 ")
        ),
        "Film Box N-CREATE (film 1): 0x0106 Failure: Invalid attribute value (Error Comment \"Film Size ID 99X99\")"
    );
    assert_eq!(
        status_line("Film Session N-CREATE", 0, None),
        "Film Session N-CREATE: 0x0000 Success"
    );
    assert!(report::is_done(0xB605) && report::is_done(0) && !report::is_done(0xC602));
    assert_eq!(
        (
            report::print_job_event(1),
            report::print_job_event(3),
            report::print_job_event(4)
        ),
        ("PENDING", "DONE", "FAILURE")
    );
}
