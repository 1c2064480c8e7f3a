//! The archive PDF is PDF/A-2b (ISO 19005-2, level B): read back with lopdf (structure,
//! XMP parsed as XML, Info/XMP equivalence, output intent, ICC profiles, trailer ID), with
//! poppler and qpdf (what a reader makes of it, pixel values through the colour
//! management), and the ICC profiles checked by littlecms' `transicc`.
//!
//! Clauses covered: 6.1.2 (header, binary comment), 6.1.3 (trailer ID, no Encrypt, nothing
//! after %%EOF), 6.2.3 (one GTS_PDFA1 output intent, embedded ICC profile whose /N matches
//! its colour space, class mntr, version < 5), 6.2.4.2 (images in ICCBased colour spaces),
//! 6.6.2.1 (XMP packet: Metadata/XML stream, xpacket header without bytes/encoding,
//! parseable RDF), 6.6.2.3 (every filmd property and Film field described by the PDF/A
//! extension schema), 6.6.3 (Info entries equal to their XMP twins), 6.6.4 (pdfaid part
//! and conformance). qpdf --check covers the file structure (xref, stream lengths).

use crate::common;
use crate::common::harness::{Test, trials};

use filmd::backend::icc;
use filmd::backend::pdf::{DocumentInfo, FilmMetadata, encode_pdf};
use filmd::film::Page;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

pub fn tests() -> Vec<Test> {
    trials![
        xmp_packet_parses_and_names_pdfa_2b_and_the_job,
        every_filmd_property_is_described_by_the_extension_schema,
        info_dictionary_equals_the_xmp,
        output_intent_images_header_and_trailer_id,
        #[needs(Poppler)]
        poppler_reads_metadata_page_sizes_and_icc_images,
        #[needs(Qpdf)]
        qpdf_check_passes,
        #[needs(Poppler)]
        pdftoppm_gives_back_the_written_gray_and_rgb_values,
        #[needs(Transicc)]
        littlecms_converts_through_both_profiles_as_expected,
    ]
}

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const XML: &str = "http://www.w3.org/XML/1998/namespace";
const PDFAID: &str = "http://www.aiim.org/pdfa/ns/id/";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const XMP: &str = "http://ns.adobe.com/xap/1.0/";
const PDF: &str = "http://ns.adobe.com/pdf/1.3/";
const XMP_MM: &str = "http://ns.adobe.com/xap/1.0/mm/";
const PDFA_SCHEMA: &str = "http://www.aiim.org/pdfa/ns/schema#";
const PDFA_PROPERTY: &str = "http://www.aiim.org/pdfa/ns/property#";
const PDFA_TYPE: &str = "http://www.aiim.org/pdfa/ns/type#";
const PDFA_FIELD: &str = "http://www.aiim.org/pdfa/ns/field#";

/// Gray page: 14×17 in at 15 dpi (210 × 255 px), 6 × 5 blocks of 35 × 51 px, one value
/// each, so a 15 dpi rendering samples them back one to one.
const GRAY_BLOCKS: [u8; 30] = [
    0, 1, 2, 5, 10, 20, 30, 40, 50, 64, 75, 90, 100, 110, 127, 128, 140, 160, 180, 192, 200, 210,
    220, 230, 240, 245, 250, 253, 254, 255,
];

fn gray_page() -> Page {
    let (w, h) = (210u32, 255u32);
    let pixels = (0..h)
        .flat_map(|y| (0..w).map(move |x| GRAY_BLOCKS[(y / 51 * 6 + x / 35) as usize]))
        .collect();
    Page {
        width_px: w,
        height_px: h,
        width_pt: 1008.0,
        height_pt: 1224.0,
        dpi: 15,
        channels: 1,
        pixels,
    }
}

/// RGB blocks of the colour page (8×10 in at 15 dpi, 120 × 150 px, 4 × 3 blocks of 30 × 50).
const RGB_BLOCKS: [[u8; 3]; 12] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [255, 255, 255],
    [0, 0, 0],
    [128, 128, 128],
    [200, 30, 90],
    [10, 120, 240],
    [250, 240, 5],
    [60, 60, 200],
    [1, 2, 3],
    [254, 128, 64],
];

fn rgb_page() -> Page {
    let (w, h) = (120u32, 150u32);
    let pixels = (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| RGB_BLOCKS[(y / 50 * 4 + x / 30) as usize]))
        .collect();
    Page {
        width_px: w,
        height_px: h,
        width_pt: 576.0,
        height_pt: 720.0,
        dpi: 15,
        channels: 3,
        pixels,
    }
}

fn film(size: &str, orientation: &str, format: &str, medium: &str) -> FilmMetadata {
    FilmMetadata {
        film_size: size.into(),
        orientation: orientation.into(),
        display_format: format.into(),
        magnification: "CUBIC".into(),
        min_density: 20,
        max_density: 320,
        medium: medium.into(),
    }
}

/// A job whose label needs UTF-16 in the Info dictionary and escaping in XML.
fn info() -> DocumentInfo {
    DocumentInfo {
        title: "Dr. Müller <CT & MR> \"Thorax\"".into(),
        author: "CT_SCANNER_1".into(),
        subject: "DICOM print job 2.25.1 on queue radiology (2 film(s), 1 cop(ies))".into(),
        creator: "filmd test".into(),
        created: UNIX_EPOCH + Duration::from_secs(1_793_534_400 + 3_723), // 2026-11-01 13:02:03
        job_id: "1793534400-7".into(),
        print_job_uid: "2.25.329800735698586629295641978511506172918".into(),
        film_session_label: "Dr. Müller <CT & MR> \"Thorax\"".into(),
        owner_id: "O'Brien".into(),
        calling_ae_title: "CT_SCANNER_1".into(),
        queue: "radiology".into(),
        films: vec![
            film("14INX17IN", "PORTRAIT", "STANDARD\\3,2", "BLUE FILM"),
            film("8INX10IN", "PORTRAIT", "ROW\\2,1", "PAPER"),
        ],
    }
}

struct Written {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
}

fn write_pdf() -> Written {
    let bytes = encode_pdf(&[gray_page(), rgb_page()], &info()).expect("encode_pdf");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("job.pdf");
    std::fs::write(&path, &bytes).expect("write");
    Written {
        _dir: dir,
        path,
        bytes,
    }
}

fn reference(object: &Object) -> ObjectId {
    object.as_reference().expect("a reference")
}

fn stream(doc: &Document, id: ObjectId) -> &lopdf::Stream {
    doc.get_object(id)
        .and_then(Object::as_stream)
        .expect("a stream")
}

fn info_dict(doc: &Document) -> &Dictionary {
    let id = reference(doc.trailer.get(b"Info").expect("trailer /Info"));
    doc.get_dictionary(id).expect("Info dictionary")
}

fn info_text(doc: &Document, key: &[u8]) -> String {
    lopdf::decode_text_string(info_dict(doc).get(key).expect("Info key")).expect("text string")
}

fn xmp_of(doc: &Document) -> String {
    let catalog = doc.catalog().expect("catalog");
    let metadata = stream(doc, reference(catalog.get(b"Metadata").expect("/Metadata")));
    let name = |key: &[u8]| metadata.dict.get(key).and_then(Object::as_name).ok();
    assert_eq!(name(b"Type"), Some(&b"Metadata"[..]));
    assert_eq!(name(b"Subtype"), Some(&b"XML"[..]));
    assert!(
        metadata.dict.get(b"Filter").is_err(),
        "metadata left uncompressed"
    );
    String::from_utf8(metadata.content.clone()).expect("XMP is UTF-8")
}

/// Text of the single element `ns:name` in the packet.
fn xmp_value<'a>(xmp: &'a roxmltree::Document, ns: &str, name: &str) -> &'a str {
    let mut found = xmp
        .descendants()
        .filter(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name);
    let node = found.next().unwrap_or_else(|| panic!("no {ns}{name}"));
    assert!(found.next().is_none(), "{name} twice");
    node.text().unwrap_or("")
}

/// The single rdf:li of a dc: Alt or Seq property.
fn xmp_li<'a>(xmp: &'a roxmltree::Document, name: &str) -> roxmltree::Node<'a, 'a> {
    let property = xmp
        .descendants()
        .find(|n| n.tag_name().namespace() == Some(DC) && n.tag_name().name() == name)
        .unwrap_or_else(|| panic!("no dc:{name}"));
    let items: Vec<_> = property
        .descendants()
        .filter(|n| n.tag_name().namespace() == Some(RDF) && n.tag_name().name() == "li")
        .collect();
    assert_eq!(items.len(), 1, "dc:{name} has one item");
    items[0]
}

fn xmp_packet_parses_and_names_pdfa_2b_and_the_job() {
    let w = write_pdf();
    let doc = Document::load_mem(&w.bytes).expect("lopdf loads it");
    let text = xmp_of(&doc);
    // 6.6.2.1: the xpacket header has neither bytes nor encoding attributes.
    let header = &text[..text.find("?>").expect("xpacket header")];
    assert!(header.starts_with("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\""));
    assert!(!header.contains("bytes") && !header.contains("encoding"));
    assert!(text.trim_end().ends_with("<?xpacket end=\"w\"?>"));

    let xmp = roxmltree::Document::parse(&text).expect("XMP is well-formed XML");
    assert_eq!(xmp_value(&xmp, PDFAID, "part"), "2");
    assert_eq!(xmp_value(&xmp, PDFAID, "conformance"), "B");
    assert_eq!(
        xmp_value(&xmp, XMP_MM, "DocumentID"),
        "uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "the Print Job UID's UUID (PS3.5 B.2)"
    );
    let instance = xmp_value(&xmp, XMP_MM, "InstanceID");
    assert!(
        instance.starts_with("uuid:") && instance.len() == 41,
        "{instance}"
    );

    let fields = [
        ("jobID", "1793534400-7"),
        (
            "printJobUID",
            "2.25.329800735698586629295641978511506172918",
        ),
        ("filmSessionLabel", "Dr. Müller <CT & MR> \"Thorax\""),
        ("ownerID", "O'Brien"),
        ("callingAETitle", "CT_SCANNER_1"),
        ("queue", "radiology"),
    ];
    for (name, want) in fields {
        assert_eq!(xmp_value(&xmp, "urn:filmd:xmp:print:1.0#", name), want);
    }
    let films: Vec<_> = xmp
        .descendants()
        .filter(|n| n.tag_name().name() == "films")
        .flat_map(|n| n.descendants())
        .filter(|n| n.tag_name().namespace() == Some(RDF) && n.tag_name().name() == "li")
        .collect();
    assert_eq!(films.len(), 2, "one Film per page");
    let field = |li: &roxmltree::Node, name: &str| -> String {
        li.children()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("no field {name}"))
            .to_string()
    };
    assert_eq!(field(&films[0], "filmSizeID"), "14INX17IN");
    assert_eq!(field(&films[0], "imageDisplayFormat"), "STANDARD\\3,2");
    assert_eq!(field(&films[0], "mediumType"), "BLUE FILM");
    assert_eq!(field(&films[1], "filmSizeID"), "8INX10IN");
    assert_eq!(field(&films[1], "imageDisplayFormat"), "ROW\\2,1");
    assert_eq!(field(&films[1], "filmOrientation"), "PORTRAIT");
    assert_eq!(field(&films[1], "magnificationType"), "CUBIC");
    assert_eq!(field(&films[1], "minDensity"), "20");
    assert_eq!(field(&films[1], "maxDensity"), "320");
}

/// 6.6.2.3: every property outside the predefined schemas, and every field of a custom
/// structure, is described in the packet's extension schemas, with its prefix.
fn every_filmd_property_is_described_by_the_extension_schema() {
    let w = write_pdf();
    let doc = Document::load_mem(&w.bytes).expect("load");
    let text = xmp_of(&doc);
    let xmp = roxmltree::Document::parse(&text).expect("XML");
    let values = |ns: &str, name: &str| -> Vec<String> {
        xmp.descendants()
            .filter(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name)
            .map(|n| n.text().unwrap_or("").to_string())
            .collect()
    };
    let schema_ns = values(PDFA_SCHEMA, "namespaceURI");
    assert_eq!(schema_ns, ["urn:filmd:xmp:print:1.0#"]);
    assert_eq!(values(PDFA_SCHEMA, "prefix"), ["filmd"]);
    let described: Vec<String> = values(PDFA_PROPERTY, "name");
    let types: Vec<String> = values(PDFA_PROPERTY, "valueType");
    for category in values(PDFA_PROPERTY, "category") {
        assert!(category == "internal" || category == "external");
    }
    assert_eq!(values(PDFA_TYPE, "type"), ["Film"]);
    assert_eq!(values(PDFA_TYPE, "prefix"), ["filmdFilm"]);
    let type_ns = values(PDFA_TYPE, "namespaceURI");
    let fields = values(PDFA_FIELD, "name");

    let predefined = [RDF, XML, PDFAID, DC, XMP, PDF, XMP_MM];
    let mut used_filmd = 0;
    let mut used_film = 0;
    for node in xmp.descendants().filter(|n| n.is_element()) {
        let (ns, name) = (
            node.tag_name().namespace().unwrap_or(""),
            node.tag_name().name(),
        );
        if ns == "adobe:ns:meta/"
            || predefined.contains(&ns)
            || ns.starts_with("http://www.aiim.org/pdfa/ns/")
        {
            continue;
        }
        if ns == schema_ns[0] {
            used_filmd += 1;
            let i = described
                .iter()
                .position(|d| d == name)
                .unwrap_or_else(|| panic!("filmd:{name} not described"));
            if name == "films" {
                assert_eq!(types[i], "seq Film");
            }
        } else if ns == type_ns[0] {
            used_film += 1;
            assert!(
                fields.iter().any(|f| f == name),
                "Film field {name} not described"
            );
        } else {
            panic!("property {name} of namespace {ns} has no schema");
        }
    }
    assert_eq!(used_filmd, 7);
    assert_eq!(used_film, 2 * 7);
}

/// "D:YYYYMMDDHHmmSSZ" and "YYYY-MM-DDTHH:MM:SSZ" as (y, m, d, h, min, s), parsed apart.
fn pdf_date(s: &str) -> [u32; 6] {
    let d = s
        .strip_prefix("D:")
        .and_then(|d| d.strip_suffix('Z'))
        .expect("D:...Z");
    let n = |a: usize, b: usize| d[a..b].parse::<u32>().expect("digits");
    [n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14)]
}

fn xmp_date(s: &str) -> [u32; 6] {
    let d = s.strip_suffix('Z').expect("UT");
    let parts: Vec<u32> = d
        .split(['-', 'T', ':'])
        .map(|p| p.parse().expect("digits"))
        .collect();
    parts.try_into().expect("six parts")
}

/// 6.6.3: each Info entry equals its XMP twin.
fn info_dictionary_equals_the_xmp() {
    let w = write_pdf();
    let doc = Document::load_mem(&w.bytes).expect("load");
    let text = xmp_of(&doc);
    let xmp = roxmltree::Document::parse(&text).expect("XML");

    let title = info_text(&doc, b"Title");
    assert_eq!(title, "Dr. Müller <CT & MR> \"Thorax\"");
    assert!(
        matches!(info_dict(&doc).get(b"Title"), Ok(Object::String(b, _)) if b.starts_with(&[0xfe, 0xff])),
        "non-ASCII text as UTF-16BE with BOM"
    );
    let title_li = xmp_li(&xmp, "title");
    assert_eq!(title_li.attribute((XML, "lang")), Some("x-default"));
    assert_eq!(title_li.text(), Some(title.as_str()));
    assert_eq!(
        xmp_li(&xmp, "creator").text(),
        Some(info_text(&doc, b"Author").as_str())
    );
    assert_eq!(
        xmp_li(&xmp, "description").text(),
        Some(info_text(&doc, b"Subject").as_str())
    );
    assert_eq!(
        xmp_value(&xmp, XMP, "CreatorTool"),
        info_text(&doc, b"Creator")
    );
    assert_eq!(
        xmp_value(&xmp, PDF, "Producer"),
        info_text(&doc, b"Producer")
    );
    assert!(info_text(&doc, b"Producer").starts_with("filmd "));

    let created = info_text(&doc, b"CreationDate");
    assert_eq!(pdf_date(&created), [2026, 11, 1, 13, 2, 3]);
    assert_eq!(
        xmp_date(xmp_value(&xmp, XMP, "CreateDate")),
        pdf_date(&created)
    );
    let modified = info_text(&doc, b"ModDate");
    assert_eq!(
        xmp_date(xmp_value(&xmp, XMP, "ModifyDate")),
        pdf_date(&modified)
    );
    assert_eq!(
        xmp_value(&xmp, XMP, "MetadataDate"),
        xmp_value(&xmp, XMP, "CreateDate")
    );
    for key in info_dict(&doc).iter().map(|(k, _)| k.clone()) {
        assert!(
            [
                &b"Title"[..],
                b"Author",
                b"Subject",
                b"Creator",
                b"Producer",
                b"CreationDate",
                b"ModDate"
            ]
            .contains(&key.as_slice()),
            "Info entry {} has no XMP twin here",
            String::from_utf8_lossy(&key)
        );
    }
}

/// ICC profile header checks shared by the output intent and the images: `acsp`, the
/// colour space that /N promises, a PDF/A-2 class, version < 5.
fn check_icc(profile: &[u8], n: i64) {
    assert_eq!(&profile[36..40], b"acsp");
    assert_eq!(
        u32::from_be_bytes(profile[..4].try_into().unwrap()) as usize,
        profile.len()
    );
    let space: &[u8] = if n == 1 { b"GRAY" } else { b"RGB " };
    assert_eq!(&profile[16..20], space, "/N {n} and the header agree");
    assert!(profile[8] < 5, "ICC version {}", profile[8]);
    assert!([&b"mntr"[..], b"prtr", b"scnr", b"spac"].contains(&&profile[12..16]));
}

fn output_intent_images_header_and_trailer_id() {
    let w = write_pdf();
    // 6.1.2: %PDF-1.n, then a comment line of at least four bytes above 127.
    assert!(w.bytes.starts_with(b"%PDF-1.7\n%"));
    assert!(w.bytes[10..14].iter().all(|&b| b > 127));
    // 6.1.3: nothing after %%EOF but an optional end of line.
    let tail = &w.bytes[w.bytes.len() - 7..];
    assert!(
        tail.ends_with(b"%%EOF") || tail.ends_with(b"%%EOF\n"),
        "{tail:?}"
    );

    let doc = Document::load_mem(&w.bytes).expect("load");
    assert!(doc.trailer.get(b"Encrypt").is_err());
    let id = doc
        .trailer
        .get(b"ID")
        .and_then(Object::as_array)
        .expect("trailer /ID");
    assert_eq!(id.len(), 2);
    for part in id {
        assert!(
            matches!(part, Object::String(b, _) if b.len() == 16),
            "{part:?}"
        );
    }

    let catalog = doc.catalog().expect("catalog");
    let intents = catalog
        .get(b"OutputIntents")
        .and_then(Object::as_array)
        .expect("/OutputIntents");
    assert_eq!(intents.len(), 1);
    let intent = intents[0].as_dict().expect("intent dictionary");
    assert_eq!(
        intent.get(b"Type").and_then(Object::as_name).ok(),
        Some(&b"OutputIntent"[..])
    );
    assert_eq!(
        intent.get(b"S").and_then(Object::as_name).ok(),
        Some(&b"GTS_PDFA1"[..])
    );
    assert_eq!(
        intent
            .get(b"OutputConditionIdentifier")
            .and_then(Object::as_str)
            .ok(),
        Some(&b"sRGB IEC61966-2.1"[..])
    );
    let dest = stream(
        &doc,
        reference(intent.get(b"DestOutputProfile").expect("profile")),
    );
    let n = dest.dict.get(b"N").and_then(Object::as_i64).expect("/N");
    let bytes = dest.decompressed_content().expect("inflate");
    check_icc(&bytes, n);
    assert_eq!(n, 3);
    assert_eq!(bytes, icc::srgb_profile());

    let pages: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    assert_eq!(pages.len(), 2);
    for (page, channels) in pages.iter().zip([1i64, 3]) {
        let images = doc.get_page_images(*page).expect("images");
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].color_space.as_deref(), Some("ICCBased"));
        let space = images[0]
            .origin_dict
            .get(b"ColorSpace")
            .and_then(Object::as_array);
        let profile = stream(&doc, reference(&space.expect("array")[1]));
        let n = profile.dict.get(b"N").and_then(Object::as_i64).expect("/N");
        assert_eq!(n, channels);
        check_icc(&profile.decompressed_content().expect("inflate"), n);
        // 6.2.8: no interpolation, no alternates.
        assert!(images[0].origin_dict.get(b"Interpolate").is_err());
        assert!(images[0].origin_dict.get(b"Alternates").is_err());
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = common::output_within(Command::new(program).args(args), common::PEER_DEADLINE);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn poppler_reads_metadata_page_sizes_and_icc_images() {
    let w = write_pdf();
    let meta = run("pdfinfo", &["-meta", arg(&w.path)]);
    assert!(meta.contains("<pdfaid:part>2</pdfaid:part>"), "{meta}");
    assert!(meta.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
    assert!(meta.contains("Dr. Müller &lt;CT &amp; MR&gt;"));

    let info = run("pdfinfo", &["-f", "1", "-l", "2", arg(&w.path)]);
    let line = |key: &str| {
        info.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in\n{info}"))
            .split_once(':')
            .unwrap()
            .1
            .trim()
            .to_string()
    };
    assert_eq!(line("Page    1 size"), "1008 x 1224 pts");
    assert_eq!(line("Page    2 size"), "576 x 720 pts");
    assert_eq!(line("PDF version"), "1.7");
    assert_eq!(line("Title"), "Dr. Müller <CT & MR> \"Thorax\"");
    assert_eq!(line("Encrypted"), "no");
    assert!(line("Metadata Stream").starts_with("yes"), "{info}");

    let list = run("pdfimages", &["-list", arg(&w.path)]);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{list}");
    // page num type width height color comp bpc enc interp ...
    assert_eq!(
        rows[0][..9],
        ["1", "0", "image", "210", "255", "icc", "1", "8", "image"]
    );
    assert_eq!(
        rows[1][..9],
        ["2", "1", "image", "120", "150", "icc", "3", "8", "image"]
    );
    assert_eq!(rows[0][9], "no", "no interpolation");
}

fn qpdf_check_passes() {
    let w = write_pdf();
    let out = run("qpdf", &["--check", arg(&w.path)]);
    assert!(
        out.contains("No syntax or stream encoding errors found"),
        "{out}"
    );
}

/// Reads a binary PGM (P5) or PPM (P6) as (width, height, samples).
fn read_pnm(path: &Path) -> (usize, usize, Vec<u8>) {
    let data = std::fs::read(path).expect("rendering");
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..at]).into_owned());
    }
    assert!(fields[0] == "P5" || fields[0] == "P6", "{fields:?}");
    assert_eq!(fields[3], "255");
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, data[at + 1..].to_vec())
}

/// Through poppler's colour management the values come back as written (±1): poppler
/// renders to the sRGB output intent, so gray pages go gray profile → XYZ → sRGB, which
/// is the identity only if the gray profile's curve and white match sRGB's (a gray
/// profile with a gamma 2 curve renders 128 as 137). The curve itself is checked against
/// the published sRGB formula with littlecms below.
fn pdftoppm_gives_back_the_written_gray_and_rgb_values() {
    let w = write_pdf();
    let dir = tempfile::tempdir().expect("tempdir");
    let gray = dir.path().join("gray");
    run(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            "15",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            arg(&w.path),
            arg(&gray),
        ],
    );
    let (width, height, pixels) = read_pnm(&gray.with_extension("pgm"));
    assert_eq!((width, height), (210, 255));
    for (i, &want) in GRAY_BLOCKS.iter().enumerate() {
        let (x, y) = (i % 6 * 35 + 17, i / 6 * 51 + 25);
        let got = pixels[y * width + x];
        assert!(
            got.abs_diff(want) <= 1,
            "gray block {i} at ({x}, {y}): wrote {want}, rendered {got}"
        );
    }

    let rgb = dir.path().join("rgb");
    run(
        "pdftoppm",
        &[
            "-r",
            "15",
            "-f",
            "2",
            "-l",
            "2",
            "-singlefile",
            arg(&w.path),
            arg(&rgb),
        ],
    );
    let (width, height, pixels) = read_pnm(&rgb.with_extension("ppm"));
    assert_eq!((width, height), (120, 150));
    for (i, want) in RGB_BLOCKS.iter().enumerate() {
        let (x, y) = (i % 4 * 30 + 15, i / 4 * 50 + 25);
        let got = &pixels[(y * width + x) * 3..][..3];
        for c in 0..3 {
            assert!(
                got[c].abs_diff(want[c]) <= 1,
                "RGB block {i}: wrote {want:?}, rendered {got:?}"
            );
        }
    }
}

/// L* of an sRGB-encoded gray value in 0..=1 (CIE 1976, Y relative to white), computed
/// here from the published formulas.
fn l_star(v: f64) -> f64 {
    let y = if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    };
    if y > 216.0 / 24389.0 {
        116.0 * y.cbrt() - 16.0
    } else {
        24389.0 / 27.0 * y
    }
}

/// Runs `transicc` from `input` to Lab (D50) on lines of 0..255 device values.
fn transicc_lab(profile: &Path, lines: &[&str]) -> Vec<[f64; 3]> {
    use std::io::Write;
    let mut child = Command::new("transicc")
        .args(["-n", "-t1", "-c0", &format!("-i{}", arg(profile)), "-o*Lab"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("transicc");
    let mut stdin = child.stdin.take().expect("stdin");
    for line in lines {
        writeln!(stdin, "{line}").expect("write");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("transicc output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "transicc failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<[f64; 3]> = stdout
        .lines()
        .filter_map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            v.try_into().ok()
        })
        .collect();
    assert_eq!(rows.len(), lines.len(), "{stdout}");
    rows
}

/// littlecms loads both profiles and converts colours to the values the published
/// formulas give: white to L* 100, 0.5 gray to L* 53.39, sRGB red to the D50 Lab that
/// Bradford-adapted sRGB is published with.
fn littlecms_converts_through_both_profiles_as_expected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let srgb = dir.path().join("srgb.icc");
    let gray = dir.path().join("gray.icc");
    std::fs::write(&srgb, icc::srgb_profile()).expect("write");
    std::fs::write(&gray, icc::gray_profile()).expect("write");

    let close = |got: [f64; 3], want: [f64; 3], tolerance: f64, what: &str| {
        for c in 0..3 {
            assert!(
                (got[c] - want[c]).abs() <= tolerance,
                "{what}: Lab {got:?}, expected {want:?}"
            );
        }
    };
    let grays = [0.0, 0.5, 0.2, 1.0];
    let lines: Vec<String> = grays.iter().map(|v| format!("{}", v * 255.0)).collect();
    let rows = transicc_lab(&gray, &lines.iter().map(String::as_str).collect::<Vec<_>>());
    for (v, row) in grays.iter().zip(rows) {
        close(row, [l_star(*v), 0.0, 0.0], 0.02, &format!("gray {v}"));
    }

    let rgb_lines: Vec<String> = grays
        .iter()
        .map(|v| format!("{0} {0} {0}", v * 255.0))
        .collect();
    let mut lines: Vec<&str> = rgb_lines.iter().map(String::as_str).collect();
    lines.extend(["255 0 0", "0 255 0", "0 0 255"]);
    let rows = transicc_lab(&srgb, &lines);
    for (v, row) in grays.iter().zip(&rows) {
        close(
            *row,
            [l_star(*v), 0.0, 0.0],
            0.02,
            &format!("sRGB gray {v}"),
        );
    }
    // sRGB primaries in CIELAB D50 after Bradford adaptation, as commonly published.
    close(rows[4], [54.29, 80.81, 69.89], 0.1, "red");
    close(rows[5], [87.82, -79.27, 80.99], 0.1, "green");
    close(rows[6], [29.57, 68.30, -112.03], 0.1, "blue");
}
