//! PDF structure, metadata and page images read back with lopdf.

use super::*;
use crate::backend::deflate::unfilter_row;
use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

fn info() -> DocumentInfo {
    DocumentInfo {
        title: "Film 1".into(),
        author: "CT1 Ärztin".into(),
        subject: "STANDARD\\2,2".into(),
        creator: "filmd test".into(),
        created: UNIX_EPOCH + Duration::from_secs(1_793_534_400), // 2026-11-01 12:00:00
        job_id: "42".into(),
        print_job_uid: "2.25.329800735698586629295641978511506172918".into(),
        ..DocumentInfo::default()
    }
}

fn page(width: u32, height: u32, channels: u8, width_pt: f64, height_pt: f64) -> Page {
    let n = (width * height) as usize * usize::from(channels);
    Page {
        width_px: width,
        height_px: height,
        width_pt,
        height_pt,
        dpi: 300,
        channels,
        pixels: (0..n).map(|i| (i * 7 % 251) as u8).collect(),
    }
}

/// The pixels of an image stream: inflated, then PNG-unfiltered as its `/DecodeParms`
/// say (ISO 32000-1 7.4.4.4).
fn decode(image: &lopdf::xobject::PdfImage) -> Vec<u8> {
    let parms = image
        .origin_dict
        .get(b"DecodeParms")
        .and_then(Object::as_dict)
        .expect("DecodeParms");
    let get = |key: &[u8]| parms.get(key).and_then(Object::as_i64).expect("integer");
    assert_eq!(get(b"Predictor"), 15);
    assert_eq!(get(b"BitsPerComponent"), 8);
    assert_eq!(get(b"Columns"), image.width);
    let colors = get(b"Colors") as usize;
    let row_bytes = image.width as usize * colors;
    let mut filtered = Vec::new();
    flate2::read::ZlibDecoder::new(image.content)
        .read_to_end(&mut filtered)
        .expect("valid zlib");
    let mut out: Vec<u8> = Vec::new();
    for (r, row) in filtered.chunks(row_bytes + 1).enumerate() {
        let above = match r {
            0 => vec![0; row_bytes],
            _ => out[(r - 1) * row_bytes..].to_vec(),
        };
        unfilter_row(row, colors, &above, &mut out).expect("known filter");
    }
    out
}

#[test]
fn two_pages_round_trip_through_lopdf() {
    let pages = [
        page(60, 40, 1, 612.0, 792.0),
        page(30, 50, 3, 595.2756, 841.8898),
    ];
    let bytes = encode_pdf(&pages, &info()).expect("encode");
    let doc = Document::load_mem(&bytes).expect("load");
    let ids: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    assert_eq!(ids.len(), 2);
    for (id, page) in ids.iter().zip(&pages) {
        let dict = doc.get_dictionary(*id).expect("page");
        let media_box = dict
            .get(b"MediaBox")
            .and_then(Object::as_array)
            .expect("MediaBox");
        let values: Vec<f32> = media_box
            .iter()
            .map(|o| o.as_float().expect("number"))
            .collect();
        assert_eq!(values[..2], [0.0, 0.0]);
        assert!((f64::from(values[2]) - page.width_pt).abs() < 1e-3);
        assert!((f64::from(values[3]) - page.height_pt).abs() < 1e-3);

        let images = doc.get_page_images(*id).expect("images");
        assert_eq!(images.len(), 1, "each page names only its own image");
        let image = &images[0];
        assert_eq!(
            (image.width, image.height),
            (i64::from(page.width_px), i64::from(page.height_px))
        );
        assert_eq!(image.color_space.as_deref(), Some("ICCBased"));
        let space = image
            .origin_dict
            .get(b"ColorSpace")
            .and_then(Object::as_array);
        let profile = doc
            .get_object(space.expect("array")[1].as_reference().expect("ref"))
            .and_then(Object::as_stream)
            .expect("ICC stream");
        let n = profile.dict.get(b"N").and_then(Object::as_i64).expect("N");
        assert_eq!(n, i64::from(page.channels));
        assert_eq!(image.bits_per_component, Some(8));
        assert_eq!(
            image.filters.as_deref(),
            Some(&["FlateDecode".to_string()][..])
        );
        assert_eq!(decode(image), page.pixels);

        let content = String::from_utf8(doc.get_page_content(*id)).expect("ascii content");
        assert!(content.contains("/Im0 Do"), "{content}");
    }
    let content = String::from_utf8(doc.get_page_content(ids[1])).expect("ascii content");
    assert_eq!(
        content.trim_end(),
        "q 595.2756 0 0 841.8898 0 0 cm /Im0 Do Q"
    );
}

/// Collated copies: the pages again, in order, each its own page object, all
/// showing the one image stream of their film.
#[test]
fn repeated_pages_are_new_page_objects_sharing_their_film_image() {
    let pages = [page(60, 40, 1, 612.0, 792.0), page(30, 50, 3, 612.0, 792.0)];
    let mut builder = PdfBuilder::new().unwrap();
    for p in &pages {
        builder.add_page(p).unwrap();
    }
    builder.repeat_pages(2).unwrap();
    assert_eq!(builder.page_count(), 6);
    let bytes = builder.finish(&info()).unwrap();
    let doc = Document::load_mem(&bytes).expect("load");
    let ids: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    assert_eq!(ids.len(), 6);
    let distinct: std::collections::BTreeSet<ObjectId> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 6, "every page its own object");
    let image_of = |id: ObjectId| {
        let images = doc.get_page_images(id).expect("images");
        assert_eq!(images.len(), 1);
        (images[0].id, decode(&images[0]))
    };
    for (i, id) in ids.iter().enumerate() {
        let (image, pixels) = image_of(*id);
        let (first, _) = image_of(ids[i % 2]);
        assert_eq!(image, first, "page {i} shows its film's one image");
        assert_eq!(pixels, pages[i % 2].pixels);
    }
    let streams = doc
        .objects
        .values()
        .filter(|o| {
            o.as_stream().is_ok_and(|s| {
                s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image")
            })
        })
        .count();
    assert_eq!(streams, 2, "one image stream per film, whatever the copies");
}

#[test]
fn info_dictionary_carries_the_metadata() {
    let bytes = encode_pdf(&[page(2, 2, 1, 10.0, 10.0)], &info()).expect("encode");
    let doc = Document::load_mem(&bytes).expect("load");
    let info_ref = doc
        .trailer
        .get(b"Info")
        .and_then(Object::as_reference)
        .expect("Info");
    let dict = doc.get_dictionary(info_ref).expect("Info dict");
    let text = |key: &[u8]| lopdf::decode_text_string(dict.get(key).expect("key")).expect("text");
    assert_eq!(text(b"Title"), "Film 1");
    assert_eq!(text(b"Author"), "CT1 Ärztin");
    assert!(matches!(
        dict.get(b"Author"),
        Ok(Object::String(bytes, _)) if bytes.starts_with(&[0xfe, 0xff])
    ));
    assert_eq!(text(b"Subject"), "STANDARD\\2,2");
    assert_eq!(
        text(b"Producer"),
        concat!("filmd ", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(text(b"CreationDate"), "D:20261101120000Z");
    assert_eq!(text(b"ModDate"), "D:20261101120000Z");

    let mut anonymous = info();
    anonymous.author.clear();
    let bytes = encode_pdf(&[page(2, 2, 1, 10.0, 10.0)], &anonymous).expect("encode");
    let doc = Document::load_mem(&bytes).expect("load");
    let info_ref = doc.trailer.get(b"Info").and_then(Object::as_reference);
    let dict = doc
        .get_dictionary(info_ref.expect("Info"))
        .expect("Info dict");
    assert!(dict.get(b"Author").is_err(), "an empty value is left out");
}

#[test]
fn control_characters_and_markup_stay_equal_in_info_and_xmp() {
    let mut odd = info();
    odd.title = "ISO 2022 \u{1b}$B label\r\n<&>".into();
    odd.film_session_label = odd.title.clone();
    let bytes = encode_pdf(&[page(2, 2, 1, 10.0, 10.0)], &odd).expect("encode");
    let doc = Document::load_mem(&bytes).expect("load");
    let info_ref = doc.trailer.get(b"Info").and_then(Object::as_reference);
    let dict = doc
        .get_dictionary(info_ref.expect("Info"))
        .expect("Info dict");
    let title = lopdf::decode_text_string(dict.get(b"Title").expect("Title")).expect("text");
    assert_eq!(title, "ISO 2022 \u{fffd}$B label\r\n<&>");

    let catalog = doc.catalog().expect("catalog");
    let id = catalog
        .get(b"Metadata")
        .and_then(Object::as_reference)
        .expect("ref");
    let stream = doc
        .get_object(id)
        .and_then(Object::as_stream)
        .expect("stream");
    let text = std::str::from_utf8(&stream.content).expect("UTF-8");
    let xmp = roxmltree::Document::parse(text).expect("well-formed despite ESC and <&>");
    let texts: Vec<&str> = xmp
        .descendants()
        .filter(|n| ["li", "filmSessionLabel"].contains(&n.tag_name().name()))
        .filter_map(|n| n.text())
        .filter(|t| t.starts_with("ISO"))
        .collect();
    // dc:title and filmd:filmSessionLabel, \r kept by the character reference.
    assert_eq!(texts, [title.as_str(), title.as_str()]);
}

#[test]
fn pdfa_structure_header_catalog_and_id() {
    let pages = [
        page(4, 4, 1, 10.0, 10.0),
        page(4, 4, 3, 10.0, 10.0),
        page(4, 4, 1, 10.0, 10.0),
    ];
    let bytes = encode_pdf(&pages, &info()).expect("encode");
    // Header and a comment of four bytes above 127 (ISO 19005-2 6.1.2).
    assert!(bytes.starts_with(b"%PDF-1.7\n%"));
    assert!(bytes[10..14].iter().all(|&b| b > 127), "{:?}", &bytes[..16]);
    assert_eq!(bytes[14], b'\n');
    assert!(bytes.ends_with(b"%%EOF"));

    let doc = Document::load_mem(&bytes).expect("load");
    let catalog = doc.catalog().expect("catalog");
    let metadata = doc
        .get_object(
            catalog
                .get(b"Metadata")
                .and_then(Object::as_reference)
                .expect("ref"),
        )
        .and_then(Object::as_stream)
        .expect("Metadata stream");
    assert_eq!(
        metadata.dict.get(b"Type").and_then(Object::as_name).ok(),
        Some(&b"Metadata"[..])
    );
    assert_eq!(
        metadata.dict.get(b"Subtype").and_then(Object::as_name).ok(),
        Some(&b"XML"[..])
    );
    assert!(metadata.dict.get(b"Filter").is_err(), "uncompressed");
    let xmp = std::str::from_utf8(&metadata.content).expect("UTF-8");
    assert!(xmp.starts_with("<?xpacket begin=\"\u{feff}\""), "{xmp}");
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"));
    assert!(xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
    assert!(xmp.contains("uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));

    let intents = catalog
        .get(b"OutputIntents")
        .and_then(Object::as_array)
        .expect("intents");
    assert_eq!(intents.len(), 1);
    let intent = intents[0].as_dict().expect("dict");
    assert_eq!(
        intent.get(b"S").and_then(Object::as_name).ok(),
        Some(&b"GTS_PDFA1"[..])
    );
    let dest = intent
        .get(b"DestOutputProfile")
        .and_then(Object::as_reference)
        .expect("ref");
    let profile = doc
        .get_object(dest)
        .and_then(Object::as_stream)
        .expect("stream");
    assert_eq!(
        profile.decompressed_content().expect("inflate"),
        icc::srgb_profile()
    );

    // One profile stream per colour space, shared: the RGB page uses the intent's.
    let spaces: Vec<ObjectId> = doc
        .get_pages()
        .values()
        .map(|&id| {
            let image = &doc.get_page_images(id).expect("images")[0];
            let space = image
                .origin_dict
                .get(b"ColorSpace")
                .and_then(Object::as_array);
            space.expect("array")[1].as_reference().expect("ref")
        })
        .collect();
    assert_eq!(spaces[0], spaces[2]);
    assert_eq!(spaces[1], dest);
    assert_ne!(spaces[0], dest);

    let id = doc
        .trailer
        .get(b"ID")
        .and_then(Object::as_array)
        .expect("ID");
    assert_eq!(id.len(), 2);
    for part in id {
        assert!(matches!(part, Object::String(b, _) if b.len() == 16));
    }
    assert!(doc.trailer.get(b"Encrypt").is_err());
}

#[test]
fn bad_pages_are_errors() {
    assert!(matches!(encode_pdf(&[], &info()), Err(PdfError::NoPages)));
    let mut short = page(4, 4, 1, 10.0, 10.0);
    short.pixels.pop();
    assert!(matches!(
        encode_pdf(&[short], &info()),
        Err(PdfError::PageSize { .. })
    ));
    let mut two = page(4, 4, 1, 10.0, 10.0);
    two.channels = 2;
    assert!(matches!(
        encode_pdf(&[two], &info()),
        Err(PdfError::Channels { .. })
    ));
}
