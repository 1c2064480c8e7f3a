//! The instances a printed job becomes in a PACS: one Secondary Capture Image per film
//! (PS3.3 A.8.1) or one Encapsulated PDF (PS3.3 A.45.1), with UIDs derived from the job
//! (PS3.5 B.2) so that a resend after a retry or a restart stores the same instances again.

use super::identity::{KEYWORDS, keyword_tag};
use crate::film::Page;
use crate::net::dataset::EXPLICIT_VR_LE;
use crate::net::negotiation::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};
use crate::spool::{Identity, PrintJob};
use crate::time::Stamp;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_dictionary_std::uids;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::Path;

/// Secondary Capture Image Storage (PS3.6 Annex A).
pub const SECONDARY_CAPTURE: &str = uids::SECONDARY_CAPTURE_IMAGE_STORAGE;
/// Encapsulated PDF Storage (PS3.6 Annex A).
pub const ENCAPSULATED_PDF: &str = uids::ENCAPSULATED_PDF_STORAGE;

/// The Manufacturer (0008,0070) and Secondary Capture Device Manufacturer of every instance.
const MANUFACTURER: &str = "filmd";
/// Conversion Type (0008,0064) "WSD": workstation (PS3.3 C.8.6.1).
const CONVERSION_TYPE: &str = "WSD";

/// A UID under the `2.25` root (PS3.5 B.2) from a name: the first 128 bits of SHA-256 over
/// the length-prefixed `parts`, with the version (8, RFC 9562 5.8) and variant bits of a
/// UUID, as a decimal integer. Equal parts give the equal UID; the result is at most 44
/// characters.
pub fn derived_uid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0F) | 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3F) | 0x80; // variant 10
    format!("2.25.{}", u128::from_be_bytes(bytes))
}

/// The UIDs a job's instances share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobUids {
    /// Used when the identity has no Study Instance UID.
    pub study: String,
    /// The one series of the job's Secondary Capture images.
    pub series: String,
}

/// What a job's UIDs are derived from: its Print Job SOP Instance UID, unique to the
/// N-ACTION that created it and kept when an operator prints the job again (`filmd
/// retry` makes a new spool job of the same print), so the PACS keeps one copy then too.
fn job_parts<'a>(job: &'a PrintJob, what: &'a str) -> [&'a str; 3] {
    ["filmd", what, &job.uid]
}

/// The study and series UIDs of `job`, from its Print Job SOP Instance UID.
pub fn job_uids(job: &PrintJob) -> JobUids {
    JobUids {
        study: derived_uid(&job_parts(job, "study")),
        series: derived_uid(&job_parts(job, "series")),
    }
}

/// SOP Instance UID of film `film_number` (from 1) of `job`.
pub fn film_uid(job: &PrintJob, film_number: usize) -> String {
    let n = film_number.to_string();
    let [a, b, c] = job_parts(job, "film");
    derived_uid(&[a, b, c, &n])
}

/// SOP Instance UID of the job's Encapsulated PDF.
pub fn pdf_uid(job: &PrintJob) -> String {
    derived_uid(&job_parts(job, "pdf"))
}

/// The PDF's own series: a series holds one modality (DOC here, OT for the images).
fn pdf_series_uid(job: &PrintJob) -> String {
    derived_uid(&job_parts(job, "pdf-series"))
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// `text` cut to `n` characters (LO 64, ST 1024, ...; PS3.5 Table 6.2-1).
fn cut(text: &str, n: usize) -> String {
    text.chars().take(n).collect::<String>().trim().to_string()
}

/// The Patient (C.7.1.1) and General Study (C.7.2.1) attributes, Type 2 ones present even
/// when empty, from `identity` (its keywords outside [`KEYWORDS`] ignored).
fn put_patient_and_study(
    obj: &mut InMemDicomObject,
    job: &PrintJob,
    identity: &Identity,
    date: &str,
    time: &str,
) {
    for keyword in [
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyID",
    ] {
        if let Some((tag, vr)) = keyword_tag(keyword) {
            put_str(obj, tag, vr, "");
        }
    }
    for (keyword, value) in identity {
        if !KEYWORDS.contains(&keyword.as_str()) {
            continue;
        }
        if let (Some((tag, vr)), Some(v)) = (
            keyword_tag(keyword),
            super::identity::normalize(keyword, value),
        ) {
            put_str(obj, tag, vr, &v);
        }
    }
    if obj.get(tags::STUDY_INSTANCE_UID).is_none() {
        put_str(obj, tags::STUDY_INSTANCE_UID, VR::UI, &job_uids(job).study);
    }
    put_str(obj, tags::STUDY_DATE, VR::DA, date);
    put_str(obj, tags::STUDY_TIME, VR::TM, time);
}

/// Attributes every instance of a job has: SOP Common (C.12.1), General Equipment
/// (C.7.5.1), SC Equipment (C.8.6.1), Patient, General Study, and the series.
fn common(
    job: &PrintJob,
    identity: &Identity,
    class: &str,
    instance: &str,
    modality: &str,
    series: &str,
) -> InMemDicomObject {
    let (date, time) = Stamp(job.created_unix).da_tm();
    let mut obj = InMemDicomObject::new_empty();
    put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, class);
    put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, instance);
    put_str(&mut obj, tags::INSTANCE_CREATION_DATE, VR::DA, &date);
    put_str(&mut obj, tags::INSTANCE_CREATION_TIME, VR::TM, &time);
    // Job times are UTC (crate::time): say so.
    put_str(&mut obj, tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0000");
    put_patient_and_study(&mut obj, job, identity, &date, &time);
    put_str(&mut obj, tags::MODALITY, VR::CS, modality);
    put_str(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, series);
    put_str(&mut obj, tags::SERIES_NUMBER, VR::IS, "1");
    let label = cut(&job.film_session_label, 64);
    if !label.is_empty() {
        put_str(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, &label);
    }
    put_str(&mut obj, tags::MANUFACTURER, VR::LO, MANUFACTURER);
    put_str(
        &mut obj,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    );
    put_str(&mut obj, tags::CONVERSION_TYPE, VR::CS, CONVERSION_TYPE);
    put_str(
        &mut obj,
        tags::SECONDARY_CAPTURE_DEVICE_MANUFACTURER,
        VR::LO,
        MANUFACTURER,
    );
    put_str(&mut obj, tags::CONTENT_DATE, VR::DA, &date);
    put_str(&mut obj, tags::CONTENT_TIME, VR::TM, &time);
    put_str(&mut obj, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    obj
}

/// Sets Specific Character Set (0008,0005) to ISO_IR 192 (UTF-8) when a text value is not
/// ASCII (PS3.3 C.12.1.1.2); the encoder then writes every later text as UTF-8.
fn declare_charset(obj: &mut InMemDicomObject) {
    let non_ascii = obj.iter().any(|e| match e.value().primitive() {
        Some(PrimitiveValue::Str(s)) => !s.is_ascii(),
        Some(PrimitiveValue::Strs(v)) => v.iter().any(|s| !s.is_ascii()),
        _ => false,
    });
    if non_ascii {
        put_str(obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    }
}

/// Millimetres per device pixel at `dpi`, as a DS value.
fn spacing_mm(dpi: u32) -> String {
    let mm = 25.4 / f64::from(dpi.max(1));
    let s = format!("{mm:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Film `film_number` (from 1) of `job`, composed as `page`, as a Secondary Capture Image
/// (PS3.3 A.8.1): MONOCHROME2 for a gray page (0 is black, as composed), RGB color-by-pixel
/// for a color one, 8 bits; Nominal Scanned Pixel Spacing from the page's resolution. The
/// page's pixels move into the data set (a 14×17 in film at 300 dpi is 21 MB). Page sides beyond
/// 65535 pixels cannot be Rows/Columns; the configuration's 1200 dpi bound keeps every
/// film size far below.
pub fn secondary_capture(
    job: &PrintJob,
    film_number: usize,
    page: Page,
    identity: &Identity,
) -> InMemDicomObject {
    let uids = job_uids(job);
    let mut obj = common(
        job,
        identity,
        SECONDARY_CAPTURE,
        &film_uid(job, film_number),
        "OT",
        &uids.series,
    );
    let (date, time) = Stamp(job.created_unix).da_tm();
    obj.put(DataElement::new(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(["DERIVED".to_string(), "SECONDARY".to_string()].into()),
    ));
    put_str(
        &mut obj,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &film_number.to_string(),
    );
    put_str(&mut obj, tags::PATIENT_ORIENTATION, VR::CS, "");
    // Type 2C when the body part is paired: a film's body part is not known, so empty
    // (PS3.3 C.7.3.1), as a validator that cannot tell wants it.
    put_str(&mut obj, tags::LATERALITY, VR::CS, "");
    put_str(&mut obj, tags::DATE_OF_SECONDARY_CAPTURE, VR::DA, &date);
    put_str(&mut obj, tags::TIME_OF_SECONDARY_CAPTURE, VR::TM, &time);
    // The page's pixel pitch on the film (PS3.3 C.8.6.2). Not Pixel Spacing (0028,0030):
    // that is a distance in the patient (PS3.3 10.7.1.3), and a film is minified, so a
    // viewer would measure the anatomy wrong.
    let spacing = spacing_mm(page.dpi);
    obj.put(DataElement::new(
        tags::NOMINAL_SCANNED_PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::Strs([spacing.clone(), spacing].into()),
    ));
    let color = page.channels == 3;
    let rows = u16::try_from(page.height_px).unwrap_or(u16::MAX);
    let cols = u16::try_from(page.width_px).unwrap_or(u16::MAX);
    let us = |tag: Tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    obj.put(us(tags::SAMPLES_PER_PIXEL, if color { 3 } else { 1 }));
    put_str(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        if color { "RGB" } else { "MONOCHROME2" },
    );
    if color {
        obj.put(us(tags::PLANAR_CONFIGURATION, 0));
    }
    obj.put(us(tags::ROWS, rows));
    obj.put(us(tags::COLUMNS, cols));
    obj.put(us(tags::BITS_ALLOCATED, 8));
    obj.put(us(tags::BITS_STORED, 8));
    obj.put(us(tags::HIGH_BIT, 7));
    obj.put(us(tags::PIXEL_REPRESENTATION, 0));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(page.pixels),
    ));
    declare_charset(&mut obj);
    obj
}

/// The job's PDF as an Encapsulated PDF instance (PS3.3 A.45.1): Document Title from the
/// Film Session Label, the document padded to an even length with one NUL (C.24.2.1) and
/// its true length in Encapsulated Document Length.
pub fn encapsulated_pdf(job: &PrintJob, pdf: &[u8], identity: &Identity) -> InMemDicomObject {
    let mut obj = common(
        job,
        identity,
        ENCAPSULATED_PDF,
        &pdf_uid(job),
        "DOC",
        &pdf_series_uid(job),
    );
    put_str(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_str(&mut obj, tags::ACQUISITION_DATE_TIME, VR::DT, "");
    put_str(
        &mut obj,
        tags::DOCUMENT_TITLE,
        VR::ST,
        &cut(&job.film_session_label, 1024),
    );
    obj.put(DataElement::new(
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::<InMemDicomObject>::empty(),
    ));
    put_str(
        &mut obj,
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    );
    let mut bytes = pdf.to_vec();
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT,
        VR::OB,
        PrimitiveValue::from(bytes),
    ));
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        PrimitiveValue::from(u32::try_from(pdf.len()).unwrap_or(u32::MAX)),
    ));
    declare_charset(&mut obj);
    obj
}

/// Writes `obj` as a DICOM Part-10 file (PS3.10 7.1: preamble, "DICM", File Meta
/// Information, the data set in Explicit VR Little Endian), for tests and debugging.
pub fn write_part10(obj: &InMemDicomObject, path: &Path) -> io::Result<()> {
    let text = |tag: Tag| {
        obj.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches('\0').to_string())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no {tag}")))
    };
    let other = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(text(tags::SOP_CLASS_UID)?)
        .media_storage_sop_instance_uid(text(tags::SOP_INSTANCE_UID)?)
        .transfer_syntax(EXPLICIT_VR_LE)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| other(&e))?;
    let ts = TransferSyntaxRegistry
        .get(EXPLICIT_VR_LE)
        .ok_or_else(|| io::Error::other("Explicit VR Little Endian unknown"))?;
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&[0u8; 128])?;
    out.write_all(b"DICM")?;
    meta.write(&mut out).map_err(|e| other(&e))?;
    obj.write_dataset_with_ts(&mut out, ts)
        .map_err(|e| other(&e))?;
    out.flush()
}

#[cfg(test)]
pub(crate) mod tests;
