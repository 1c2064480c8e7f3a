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

/// `filmd print ARGS` as clap parses them (the binary's `print` subcommand).
#[derive(Debug, clap::Parser)]
struct PrintCli {
    #[command(flatten)]
    request: super::PrintRequest,
}

fn parse_print(args: &[&str]) -> Result<super::PrintRequest, clap::Error> {
    use clap::Parser;
    let argv = ["print", "--to", "PRINTSCP@127.0.0.1:104", "a.dcm"];
    PrintCli::try_parse_from(argv.iter().chain(args)).map(|c| c.request)
}

#[test]
fn calling_ae_must_be_an_ae_title_else_a_usage_error() {
    assert_eq!(parse_print(&[]).unwrap().args.calling_ae, "FILMD_SCU");
    let ok = parse_print(&["--calling-ae", " MODALITY 1 "]).unwrap();
    assert_eq!(ok.args.calling_ae, "MODALITY 1");
    assert_eq!(
        parse_print(&["--calling-ae", "SIXTEEN_CHARS_AE"])
            .unwrap()
            .args
            .calling_ae,
        "SIXTEEN_CHARS_AE"
    );
    for bad in ["", "    ", "SEVENTEEN_CHARS_X", r"CT\1", "CT\t1", "CT\n"] {
        let e = parse_print(&["--calling-ae", bad]).expect_err(bad);
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
        assert!(e.to_string().contains("AE title"), "{e}");
    }
    assert_eq!(plan::ae_title("X"), Ok("X".into()));
    assert!(plan::ae_title("É").is_err(), "default repertoire only");
}

mod against_a_scripted_scp {
    //! `run::print` against a scripted Print SCP (the DIMSE client tests' peer): what a
    //! refusal or silence in the middle of a job does to the rest of it.

    use super::super::{PrintError, Printed, run};
    use super::{gray12, parse_print};
    use crate::backend::dimse::tests::{Peer, peer};
    use crate::net::dimse::{Command, command_field as cf};
    use crate::print::uids;
    use crate::scu::GRAY_META;
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;
    use std::thread::JoinHandle;
    use std::time::Duration;

    /// Processing failure (PS3.7 C.4.2): the refusal the scripted SCP answers with.
    const PROCESSING_FAILURE: u16 = 0x0110;

    /// A Film Box N-CREATE response's data set: one image box.
    fn one_image_box(uid: &str) -> InMemDicomObject {
        let item = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(uids::BASIC_GRAYSCALE_IMAGE_BOX),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(uid),
            ),
        ]);
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::REFERENCED_IMAGE_BOX_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        )])
    }

    /// A grayscale Print SCP answering each request with the status `status_of` gives
    /// it (or success), until the Film Session N-DELETE; then it releases. Its thread
    /// returns the requests it answered, as "COMMAND FIELD CLASS".
    fn print_scp(
        status_of: impl Fn(&Command) -> Option<u16> + Send + 'static,
    ) -> (u16, JoinHandle<Vec<String>>) {
        let (dest, handle) = peer(&[GRAY_META], move |p: &mut Peer| {
            let mut answered = Vec::new();
            for n in 1.. {
                let (ctx, rq, _) = p.recv();
                let class = rq.sop_class_uid().unwrap_or_default().to_string();
                let status = status_of(&rq).unwrap_or(0);
                let instance = rq
                    .sop_instance_uid()
                    .map(String::from)
                    .unwrap_or_else(|| format!("1.2.826.0.1.3680043.10.1441.99.{n}"));
                let data = (rq.command_field == cf::N_CREATE_RQ
                    && class == uids::BASIC_FILM_BOX
                    && status == 0)
                    .then(|| one_image_box(&format!("1.2.826.0.1.3680043.10.1441.98.{n}")));
                let rsp = Command {
                    command_field: cf::response_for(rq.command_field),
                    message_id_being_responded_to: rq.message_id,
                    affected_sop_class_uid: Some(class.clone()),
                    affected_sop_instance_uid: Some(instance),
                    status: Some(status),
                    ..Default::default()
                };
                p.send(ctx, rsp, data.as_ref());
                answered.push(format!("{:#06x} {class}", rq.command_field));
                if rq.command_field == cf::N_DELETE_RQ && class == uids::BASIC_FILM_SESSION {
                    p.released();
                    break;
                }
            }
            answered
        });
        (dest.port, handle)
    }

    /// Prints `images` one-box films to 127.0.0.1:`port` with `--timeout` `timeout`:
    /// the result and the report.
    fn print(port: u16, images: usize, timeout: u64) -> (Result<Printed, PrintError>, String) {
        let to = format!("PACS@127.0.0.1:{port}");
        let timeout = timeout.to_string();
        let mut request = parse_print(&["--no-printer-status", "--timeout", &timeout]).unwrap();
        request.args.to = super::Destination::parse(&to).unwrap();
        let job = run::Job {
            images: (0..images).map(|_| gray12(&[0, 4095], 1, 2)).collect(),
            color: false,
            timeout: Duration::from_secs(request.args.timeout),
            tls: None,
        };
        let mut out = Vec::new();
        let result = run::print(&request, job, &mut out);
        (result, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn a_refused_film_box_n_delete_is_a_warning_and_the_next_films_still_print() {
        let (port, scp) = print_scp(|rq| {
            (rq.command_field == cf::N_DELETE_RQ
                && rq.sop_class_uid() == Some(uids::BASIC_FILM_BOX))
            .then_some(PROCESSING_FAILURE)
        });
        let (result, out) = print(port, 3, 10);
        let answered = scp.join().unwrap();
        for film in 1..=3 {
            assert!(
                out.contains(&format!("Film Box N-ACTION (film {film}): 0x0000 Success")),
                "{out}"
            );
            assert!(
                out.contains(&format!("Film Box N-DELETE (film {film}): 0x0110")),
                "{out}"
            );
        }
        let film_box_actions = format!("{:#06x} {}", cf::N_ACTION_RQ, uids::BASIC_FILM_BOX);
        assert_eq!(
            answered.iter().filter(|a| **a == film_box_actions).count(),
            3,
            "{answered:?}"
        );
        assert!(
            out.contains("Film Session N-DELETE: 0x0000 Success"),
            "{out}"
        );
        assert!(
            out.contains("3 of 3 film(s) printed, 3 warning(s)"),
            "{out}"
        );
        assert_eq!(
            result.unwrap(),
            Printed {
                films: 3,
                warnings: 3
            },
            "every film printed: exit status 0"
        );
    }

    #[test]
    fn a_refused_film_box_n_action_still_ends_the_job() {
        let (port, scp) =
            print_scp(|rq| (rq.command_field == cf::N_ACTION_RQ).then_some(PROCESSING_FAILURE));
        let (result, out) = print(port, 2, 10);
        scp.join().unwrap();
        assert!(!out.contains("film 2"), "{out}");
        match result {
            Err(PrintError::NotPrinted { films, printed, .. }) => {
                assert_eq!((films, printed), (2, 0), "{out}")
            }
            other => panic!("{other:?}\n{out}"),
        }
    }

    #[test]
    fn an_scp_that_never_answers_is_aborted_after_the_timeout() {
        let (dest, scp) = peer(&[GRAY_META], |p: &mut Peer| {
            let _ = p.recv();
            let _ = p.assoc.receive(); // until the client gives up and aborts
        });
        let (result, out) = print(dest.port, 1, 1);
        scp.join().unwrap();
        assert!(out.contains("association aborted"), "{out}");
        assert!(
            matches!(result, Err(PrintError::NotPrinted { printed: 0, .. })),
            "{result:?}\n{out}"
        );
    }
}
