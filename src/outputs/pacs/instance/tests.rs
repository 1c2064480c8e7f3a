use super::*;
use crate::film::Device;
use crate::film::compose::compose;
use crate::outputs::pacs::identity::valid_uid;
use std::process::Command;

pub(crate) fn job(label: &str) -> PrintJob {
    PrintJob {
        id: "20261207-0001".into(),
        uid: "1.2.826.0.1.3680043.10.1.77.5".into(),
        queue: "q".into(),
        calling_ae_title: "MODALITY".into(),
        film_session_label: label.into(),
        owner_id: String::new(),
        priority: "MED".into(),
        copies: 1,
        // 2026-12-07 10:11:12 UTC
        created_unix: 1_796_638_272,
        device: Device {
            dpi: 72,
            ..Device::default()
        },
        films: vec![
            crate::film::fixtures::film(0),
            crate::film::fixtures::film(200),
        ],
    }
}

fn identity(pairs: &[(&str, &str)]) -> Identity {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn s(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .map(|e| {
            e.to_str()
                .unwrap()
                .trim_end_matches(['\0', ' '])
                .to_string()
        })
        .unwrap_or_else(|| panic!("{tag} missing"))
}

fn u(obj: &InMemDicomObject, tag: Tag) -> u16 {
    obj.get(tag).unwrap().to_int::<u16>().unwrap()
}

#[test]
fn derived_uids_are_stable_distinct_valid_and_short() {
    let a = derived_uid(&["x", "1"]);
    assert_eq!(a, derived_uid(&["x", "1"]));
    assert_ne!(a, derived_uid(&["x", "2"]));
    // Length prefixes: the parts' boundaries count.
    assert_ne!(derived_uid(&["ab", "c"]), derived_uid(&["a", "bc"]));
    for parts in [&["x", "1"][..], &[], &[""], &["ü", "🙂"]] {
        let uid = derived_uid(parts);
        assert!(uid.starts_with("2.25."), "{uid}");
        assert!(valid_uid(&uid) && uid.len() <= 44, "{uid}");
        // An RFC 9562 UUID, version 8, variant 10.
        let n: u128 = uid[5..].parse().unwrap();
        assert_eq!((n >> 76) & 0xF, 8, "{uid}");
        assert_eq!((n >> 62) & 0x3, 0b10, "{uid}");
    }
}

#[test]
fn a_jobs_uids_follow_the_print_job_uid_and_the_film_number() {
    let j = job("L");
    // Printed again by the operator: a new spool job of the same print, the same UIDs.
    let mut again = job("L");
    again.id = "20261207-0009".into();
    assert_eq!(job_uids(&again), job_uids(&j));
    assert_eq!(film_uid(&again, 1), film_uid(&j, 1));
    let mut other = job("L");
    other.uid = format!("{}.2", j.uid);
    let uids = job_uids(&j);
    assert_eq!(uids, job_uids(&job("other label: UIDs are not from texts")));
    assert_ne!(uids.study, job_uids(&other).study);
    assert_ne!(uids.study, uids.series);
    let films = [film_uid(&j, 1), film_uid(&j, 2), pdf_uid(&j)];
    assert_eq!(films[0], film_uid(&j, 1));
    assert_ne!(films[0], films[1]);
    assert_ne!(films[1], films[2]);
    assert_ne!(films[0], film_uid(&other, 1));
    assert!(films.iter().all(|u| valid_uid(u)));
}

#[test]
fn a_gray_film_is_a_monochrome2_secondary_capture_with_the_identity() {
    let j = job("ACC123 CHEST");
    let page = compose(&j.films[0], &j.device);
    assert_eq!(
        (page.width_px, page.height_px, page.channels),
        (576, 720, 1)
    );
    let id = identity(&[
        ("PatientName", "Doe^Jane"),
        ("PatientID", "P1"),
        ("AccessionNumber", "ACC123"),
        ("StudyInstanceUID", "1.2.3.4"),
        ("Unknown", "ignored"),
    ]);
    let obj = secondary_capture(&j, 2, page.clone(), &id);
    assert_eq!(s(&obj, tags::SOP_CLASS_UID), "1.2.840.10008.5.1.4.1.1.7");
    assert_eq!(s(&obj, tags::SOP_INSTANCE_UID), film_uid(&j, 2));
    assert_eq!(s(&obj, tags::STUDY_INSTANCE_UID), "1.2.3.4");
    assert_eq!(s(&obj, tags::SERIES_INSTANCE_UID), job_uids(&j).series);
    assert_eq!(s(&obj, tags::PATIENT_NAME), "Doe^Jane");
    assert_eq!(s(&obj, tags::PATIENT_ID), "P1");
    assert_eq!(s(&obj, tags::ACCESSION_NUMBER), "ACC123");
    // Type 2 attributes nobody gave are present, empty.
    for t in [
        tags::PATIENT_BIRTH_DATE,
        tags::PATIENT_SEX,
        tags::REFERRING_PHYSICIAN_NAME,
        tags::STUDY_ID,
        tags::PATIENT_ORIENTATION,
    ] {
        assert_eq!(s(&obj, t), "", "{t}");
    }
    assert_eq!(s(&obj, tags::STUDY_DATE), "20261207");
    assert_eq!(s(&obj, tags::STUDY_TIME), "101112");
    assert_eq!(s(&obj, tags::CONTENT_DATE), "20261207");
    assert_eq!(s(&obj, tags::MODALITY), "OT");
    assert_eq!(s(&obj, tags::CONVERSION_TYPE), "WSD");
    assert_eq!(s(&obj, tags::SERIES_DESCRIPTION), "ACC123 CHEST");
    assert_eq!(s(&obj, tags::INSTANCE_NUMBER), "2");
    assert_eq!(s(&obj, tags::IMAGE_TYPE), "DERIVED\\SECONDARY");
    assert_eq!(s(&obj, tags::BURNED_IN_ANNOTATION), "YES");
    assert_eq!(s(&obj, tags::MANUFACTURER), "filmd");
    assert_eq!(s(&obj, tags::PHOTOMETRIC_INTERPRETATION), "MONOCHROME2");
    assert_eq!(u(&obj, tags::SAMPLES_PER_PIXEL), 1);
    assert!(obj.get(tags::PLANAR_CONFIGURATION).is_none());
    assert_eq!((u(&obj, tags::ROWS), u(&obj, tags::COLUMNS)), (720, 576));
    assert_eq!(u(&obj, tags::BITS_ALLOCATED), 8);
    assert!(
        obj.get(tags::PIXEL_SPACING).is_none(),
        "no patient-scale spacing"
    );
    assert_eq!(
        s(&obj, tags::NOMINAL_SCANNED_PIXEL_SPACING),
        "0.352778\\0.352778"
    );
    let pixels = obj.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    assert_eq!(pixels.as_ref(), page.pixels.as_slice());
    assert!(
        obj.get(tags::SPECIFIC_CHARACTER_SET).is_none(),
        "ASCII only"
    );
    // Without a Study Instance UID in the identity: the job's own.
    let obj = secondary_capture(&j, 1, page.clone(), &Identity::new());
    assert_eq!(s(&obj, tags::STUDY_INSTANCE_UID), job_uids(&j).study);
    assert_eq!(s(&obj, tags::PATIENT_NAME), "");
}

#[test]
fn a_color_page_is_rgb_color_by_pixel() {
    let j = job("c");
    let page = Page {
        width_px: 3,
        height_px: 2,
        width_pt: 3.0,
        height_pt: 2.0,
        dpi: 600,
        channels: 3,
        pixels: (0u8..18).collect(),
    };
    let obj = secondary_capture(&j, 1, page.clone(), &Identity::new());
    assert_eq!(s(&obj, tags::PHOTOMETRIC_INTERPRETATION), "RGB");
    assert_eq!(u(&obj, tags::SAMPLES_PER_PIXEL), 3);
    assert_eq!(u(&obj, tags::PLANAR_CONFIGURATION), 0);
    assert_eq!((u(&obj, tags::ROWS), u(&obj, tags::COLUMNS)), (2, 3));
    assert_eq!(
        s(&obj, tags::NOMINAL_SCANNED_PIXEL_SPACING),
        "0.042333\\0.042333"
    );
    let pixels = obj.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    assert_eq!(pixels.as_ref(), page.pixels.as_slice());
}

#[test]
fn identity_values_are_cut_to_their_vr_and_bad_ones_left_out() {
    let j = job(&"L".repeat(80));
    let page = compose(&j.films[0], &j.device);
    let id = identity(&[
        ("AccessionNumber", "ACC-0123456789-0123456789"), // SH: 16
        ("StudyInstanceUID", "1.2.03"),                   // zero-led component
        ("PatientBirthDate", "1.1.1970"),
        ("PatientSex", "f"),
        ("PatientID", "a\\b"),
    ]);
    let obj = secondary_capture(&j, 1, page.clone(), &id);
    assert_eq!(s(&obj, tags::ACCESSION_NUMBER), "ACC-0123456789-0");
    assert_eq!(s(&obj, tags::STUDY_INSTANCE_UID), job_uids(&j).study);
    assert_eq!(s(&obj, tags::PATIENT_BIRTH_DATE), "");
    assert_eq!(s(&obj, tags::PATIENT_SEX), "F");
    assert_eq!(s(&obj, tags::PATIENT_ID), "a b");
    assert_eq!(s(&obj, tags::SERIES_DESCRIPTION).chars().count(), 64);
}

#[test]
fn non_ascii_text_declares_utf8_and_is_written_as_utf8() {
    let j = job("Röntgen Ω");
    let page = compose(&j.films[0], &j.device);
    let obj = secondary_capture(
        &j,
        1,
        page.clone(),
        &identity(&[("PatientName", "Müller^Jürgen")]),
    );
    assert_eq!(s(&obj, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    let bytes = crate::net::dataset::encode(&obj, EXPLICIT_VR_LE).unwrap();
    let name = "Müller^Jürgen".as_bytes();
    assert!(bytes.windows(name.len()).any(|w| w == name));
    let label = "Röntgen Ω".as_bytes();
    assert!(bytes.windows(label.len()).any(|w| w == label));
    let back = crate::net::dataset::decode(&bytes, EXPLICIT_VR_LE).unwrap();
    assert_eq!(s(&back, tags::PATIENT_NAME), "Müller^Jürgen");
}

#[test]
fn the_pdf_is_encapsulated_padded_to_even_length() {
    let j = job("ACC9");
    let pdf = b"%PDF-1.7\n%odd".to_vec();
    assert_eq!(pdf.len() % 2, 1);
    let obj = encapsulated_pdf(&j, &pdf, &identity(&[("PatientID", "P9")]));
    assert_eq!(
        s(&obj, tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.104.1"
    );
    assert_eq!(s(&obj, tags::SOP_INSTANCE_UID), pdf_uid(&j));
    assert_eq!(s(&obj, tags::MODALITY), "DOC");
    assert_ne!(s(&obj, tags::SERIES_INSTANCE_UID), job_uids(&j).series);
    assert_eq!(s(&obj, tags::STUDY_INSTANCE_UID), job_uids(&j).study);
    assert_eq!(
        s(&obj, tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT),
        "application/pdf"
    );
    assert_eq!(s(&obj, tags::DOCUMENT_TITLE), "ACC9");
    assert_eq!(s(&obj, tags::BURNED_IN_ANNOTATION), "YES");
    assert_eq!(s(&obj, tags::INSTANCE_NUMBER), "1");
    assert_eq!(s(&obj, tags::PATIENT_ID), "P9");
    let doc = obj
        .get(tags::ENCAPSULATED_DOCUMENT)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(&doc[..pdf.len()], pdf.as_slice());
    assert_eq!(doc.len(), pdf.len() + 1);
    assert_eq!(doc[pdf.len()], 0);
    let len = obj.get(tags::ENCAPSULATED_DOCUMENT_LENGTH).unwrap();
    assert_eq!(len.to_int::<u32>().unwrap(), pdf.len() as u32);
    let items = obj
        .get(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap();
    assert!(items.is_empty());
}

/// Runs `tool args`; `None` when the tool is not installed.
fn run(tool: &str, args: &[&std::ffi::OsStr]) -> Option<(bool, String, String)> {
    let out = Command::new(tool).args(args).output().ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The instances as DCMTK reads them: `dcmdump +E` reports no error and shows the values;
/// `dciodvfy` (dicom3tools), when installed, finds no error in the IOD.
#[test]
fn dcmtk_reads_the_part10_files_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let j = job("Röntgen ACC123");
    let gray = compose(&j.films[0], &j.device);
    let mut color = gray.clone();
    color.channels = 3;
    color.pixels = gray
        .pixels
        .iter()
        .flat_map(|&v| [v, v / 2, 255 - v])
        .collect();
    let id = identity(&[
        ("PatientName", "Müller^Jürgen"),
        ("PatientID", "P1"),
        ("PatientBirthDate", "19700101"),
        ("PatientSex", "M"),
        ("AccessionNumber", "ACC123"),
        ("StudyDescription", "Thorax"),
        ("ReferringPhysicianName", "Who^Doctor"),
        ("IssuerOfPatientID", "HOSP"),
        ("StudyID", "S1"),
    ]);
    let files = [
        ("gray.dcm", secondary_capture(&j, 1, gray.clone(), &id)),
        ("color.dcm", secondary_capture(&j, 2, color.clone(), &id)),
        (
            "pdf.dcm",
            encapsulated_pdf(&j, b"%PDF-1.4\n%%EOF\n", &Identity::new()),
        ),
    ];
    for (name, obj) in &files {
        let path = dir.path().join(name);
        write_part10(obj, &path).unwrap();
        let Some((ok, out, err)) = run("dcmdump", &["+E".as_ref(), path.as_os_str()]) else {
            eprintln!("dcmdump not installed: DCMTK check skipped");
            return;
        };
        assert!(
            ok && err.trim().is_empty(),
            "{name}: dcmdump +E:\n{err}\n{out}"
        );
        assert!(out.contains("(0008,0016) UI =") || out.contains("MediaStorageSOPClassUID"));
        assert!(
            out.contains(&s(obj, tags::SOP_INSTANCE_UID)),
            "{name}:\n{out}"
        );
        if *name != "pdf.dcm" {
            assert!(out.contains("[ISO_IR 192]"), "{name}:\n{out}");
            assert!(out.contains("[Müller^Jürgen]"), "{name}:\n{out}");
            assert!(out.contains("[Röntgen ACC123]"), "{name}:\n{out}");
        }
        if let Some((_, out, err)) = run("dciodvfy", &[path.as_os_str()]) {
            let all = format!("{out}{err}");
            eprintln!("{name}: dciodvfy:\n{all}");
            let errors: Vec<&str> = all.lines().filter(|l| l.starts_with("Error")).collect();
            assert!(errors.is_empty(), "{name}: dciodvfy:\n{all}");
        }
    }
}
