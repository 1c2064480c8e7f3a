//! What makes filmd's PDFs PDF/A-2b (ISO 19005-2, level B) beyond the page images: the
//! XMP metadata packet (6.6.2), the Info values it must agree with (6.6.3), PDF text
//! strings and dates, and the document and instance identifiers (6.1.3 trailer `/ID`,
//! XMP Media Management IDs).
//!
//! The print job's own data (Film Session Label, Owner ID, calling AE title, queue, job ID,
//! Print Job UID, per-film parameters) goes into a filmd XMP schema, which PDF/A requires
//! to be described in the packet itself with the PDF/A extension schema (6.6.2.3.1).

use crate::xml::escape;
use lopdf::{Object, StringFormat};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Metadata written to the Info dictionary and the XMP packet. Plain text: the backend
/// knows nothing of DICOM, the caller fills in what the job has. Empty strings are left
/// out of the Info dictionary and its XMP twins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Info `/Title`, XMP dc:title.
    pub title: String,
    /// Info `/Author`, XMP dc:creator.
    pub author: String,
    /// Info `/Subject`, XMP dc:description.
    pub subject: String,
    /// Info `/Creator`, XMP xmp:CreatorTool.
    pub creator: String,
    /// Info `/CreationDate` and `/ModDate`, XMP xmp:CreateDate, ModifyDate, MetadataDate.
    pub created: SystemTime,
    /// The spool's job ID.
    pub job_id: String,
    /// The Print Job SOP Instance UID; it gives the XMP DocumentID.
    pub print_job_uid: String,
    pub film_session_label: String,
    pub owner_id: String,
    pub calling_ae_title: String,
    pub queue: String,
    /// One entry per page, in page order.
    pub films: Vec<FilmMetadata>,
}

impl Default for DocumentInfo {
    fn default() -> Self {
        DocumentInfo {
            title: String::new(),
            author: String::new(),
            subject: String::new(),
            creator: String::new(),
            created: UNIX_EPOCH,
            job_id: String::new(),
            print_job_uid: String::new(),
            film_session_label: String::new(),
            owner_id: String::new(),
            calling_ae_title: String::new(),
            queue: String::new(),
            films: Vec::new(),
        }
    }
}

/// A film's parameters as written to the XMP metadata: the defined terms as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilmMetadata {
    /// e.g. `14INX17IN`.
    pub film_size: String,
    /// `PORTRAIT` or `LANDSCAPE`.
    pub orientation: String,
    /// e.g. `STANDARD\2,2`.
    pub display_format: String,
    /// e.g. `CUBIC`.
    pub magnification: String,
    /// Hundredths of optical density.
    pub min_density: u16,
    /// Hundredths of optical density.
    pub max_density: u16,
    /// e.g. `BLUE FILM`.
    pub medium: String,
}

/// XMP namespace of filmd's print job properties.
pub const FILMD_NS: &str = "urn:filmd:xmp:print:1.0#";
/// XMP namespace of the fields of filmd's `Film` structure.
pub const FILM_NS: &str = "urn:filmd:xmp:film:1.0#";
/// Longest text value written, in characters: ISO 19005-2 6.1.13 caps a string at 32767
/// bytes, and a UTF-16 string spends two or four bytes a character.
const MAX_TEXT_CHARS: usize = 4096;

/// Text as it may appear in both the Info dictionary and XMP: characters XML 1.0 cannot
/// carry (C0 controls other than tab, line feed and carriage return; U+FFFE, U+FFFF)
/// become U+FFFD, and overlong text is cut, so the two copies stay equal (6.6.3).
pub fn clean_text(text: &str) -> String {
    text.chars()
        .take(MAX_TEXT_CHARS)
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// A PDF text string (ISO 32000-1 7.9.2.2): printable ASCII as a literal string, anything
/// else as UTF-16BE with a byte order mark, written in hex.
pub fn text_string(text: &str) -> Object {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::String(text.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xfe, 0xff];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

/// A PDF date string in UT, `D:YYYYMMDDHHmmSSZ` (ISO 32000-1 7.9.4).
pub fn pdf_date(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil_time(time);
    format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z")
}

/// The same instant as an XMP Date (ISO 8601 profile of XMP part 1 8.2.1.1) in UT.
pub fn xmp_date(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil_time(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn civil_time(time: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    crate::time::utc_fields(crate::time::Stamp::of(time).0)
}

/// The document's identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identifiers {
    /// xmpMM:DocumentID: the print job's own UUID, the same for every rendering of the job.
    pub document: [u8; 16],
    /// xmpMM:InstanceID and both halves of the trailer `/ID`: this file, from the Print Job
    /// UID, the job ID and the creation time.
    pub instance: [u8; 16],
}

impl Identifiers {
    pub fn of(info: &DocumentInfo) -> Self {
        let instance = name_uuid(&[
            "instance",
            &info.print_job_uid,
            &info.job_id,
            &info.title,
            &pdf_date(info.created),
        ]);
        let document = if info.print_job_uid.is_empty() {
            instance
        } else {
            uid_uuid(&info.print_job_uid)
        };
        Identifiers { document, instance }
    }
}

/// The UUID a DICOM UID stands for: a UID under 2.25 is a UUID's 128-bit integer in
/// decimal (PS3.5 B.2); any other UID gets a name-based UUID.
pub fn uid_uuid(uid: &str) -> [u8; 16] {
    uid.strip_prefix("2.25.")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u128>().ok())
        .map_or_else(|| name_uuid(&["uid", uid]), u128::to_be_bytes)
}

/// A name-based UUID of version 8 (RFC 9562 5.8) from the SHA-256 of `parts`, each ended
/// by a NUL so that the parts cannot run into each other.
fn name_uuid(parts: &[&str]) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(b"filmd\0");
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out[6] = (out[6] & 0x0f) | 0x80;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// `8-4-4-4-12` lowercase hex (RFC 9562 4).
pub fn uuid_string(uuid: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The Info dictionary values and their XMP twins (ISO 19005-2 6.6.3, table 3): both are
/// built from this one struct so that they cannot disagree.
pub struct DocumentText {
    pub title: String,
    pub author: String,
    pub subject: String,
    pub creator: String,
    pub producer: String,
    pub date_pdf: String,
    pub date_xmp: String,
}

impl DocumentText {
    pub fn of(info: &DocumentInfo) -> Self {
        DocumentText {
            title: clean_text(&info.title),
            author: clean_text(&info.author),
            subject: clean_text(&info.subject),
            creator: clean_text(&info.creator),
            producer: concat!("filmd ", env!("CARGO_PKG_VERSION")).to_string(),
            date_pdf: pdf_date(info.created),
            date_xmp: xmp_date(info.created),
        }
    }
}

/// The XMP packet (XMP part 1 7.3) for the catalog's `/Metadata` stream, UTF-8, without
/// the `bytes` and `encoding` attributes ISO 19005-2 6.6.2.1 forbids.
pub fn xmp_packet(info: &DocumentInfo, text: &DocumentText, ids: &Identifiers) -> String {
    let e = |s: &str| escape(&clean_text(s));
    let mut x = String::with_capacity(8192 + 512 * info.films.len());
    x.push_str("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n");
    x.push_str("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n");
    x.push_str("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");

    x.push_str(concat!(
        " <rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n",
        "  <pdfaid:part>2</pdfaid:part>\n",
        "  <pdfaid:conformance>B</pdfaid:conformance>\n",
        " </rdf:Description>\n",
    ));

    x.push_str(" <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n");
    x.push_str("  <dc:format>application/pdf</dc:format>\n");
    let lang_alt = |x: &mut String, name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(
                x,
                "  <dc:{name}><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:{name}>",
                escape(value)
            );
        }
    };
    lang_alt(&mut x, "title", &text.title);
    if !text.author.is_empty() {
        let _ = writeln!(
            x,
            "  <dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>",
            escape(&text.author)
        );
    }
    lang_alt(&mut x, "description", &text.subject);
    x.push_str(" </rdf:Description>\n");

    let date = &text.date_xmp;
    let _ = write!(
        x,
        concat!(
            " <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n",
            "  <xmp:CreateDate>{date}</xmp:CreateDate>\n",
            "  <xmp:ModifyDate>{date}</xmp:ModifyDate>\n",
            "  <xmp:MetadataDate>{date}</xmp:MetadataDate>\n",
        ),
        date = date
    );
    if !text.creator.is_empty() {
        let _ = writeln!(
            x,
            "  <xmp:CreatorTool>{}</xmp:CreatorTool>",
            escape(&text.creator)
        );
    }
    x.push_str(" </rdf:Description>\n");

    let _ = write!(
        x,
        concat!(
            " <rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n",
            "  <pdf:Producer>{}</pdf:Producer>\n",
            " </rdf:Description>\n",
            " <rdf:Description rdf:about=\"\" xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\n",
            "  <xmpMM:DocumentID>uuid:{}</xmpMM:DocumentID>\n",
            "  <xmpMM:InstanceID>uuid:{}</xmpMM:InstanceID>\n",
            " </rdf:Description>\n",
        ),
        escape(&text.producer),
        uuid_string(&ids.document),
        uuid_string(&ids.instance),
    );

    let _ = writeln!(
        x,
        " <rdf:Description rdf:about=\"\" xmlns:filmd=\"{FILMD_NS}\" xmlns:filmdFilm=\"{FILM_NS}\">"
    );
    for (property, value) in [
        ("jobID", &info.job_id),
        ("printJobUID", &info.print_job_uid),
        ("filmSessionLabel", &info.film_session_label),
        ("ownerID", &info.owner_id),
        ("callingAETitle", &info.calling_ae_title),
        ("queue", &info.queue),
    ] {
        let _ = writeln!(x, "  <filmd:{property}>{}</filmd:{property}>", e(value));
    }
    x.push_str("  <filmd:films>\n   <rdf:Seq>\n");
    for film in &info.films {
        film_item(&mut x, film, &e);
    }
    x.push_str("   </rdf:Seq>\n  </filmd:films>\n </rdf:Description>\n");

    x.push_str(&extension_schema());
    x.push_str("</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>");
    x
}

fn film_item(x: &mut String, film: &FilmMetadata, e: &dyn Fn(&str) -> String) {
    x.push_str("    <rdf:li rdf:parseType=\"Resource\">\n");
    for (field, value) in [
        ("filmSizeID", e(&film.film_size)),
        ("filmOrientation", e(&film.orientation)),
        ("imageDisplayFormat", e(&film.display_format)),
        ("magnificationType", e(&film.magnification)),
        ("minDensity", film.min_density.to_string()),
        ("maxDensity", film.max_density.to_string()),
        ("mediumType", e(&film.medium)),
    ] {
        let _ = writeln!(x, "     <filmdFilm:{field}>{value}</filmdFilm:{field}>");
    }
    x.push_str("    </rdf:li>\n");
}

/// filmd's properties: (name, value type, category, description).
const PROPERTIES: [(&str, &str, &str, &str); 7] = [
    ("jobID", "Text", "internal", "filmd spool job ID"),
    (
        "printJobUID",
        "Text",
        "internal",
        "SOP Instance UID of the DICOM Print Job",
    ),
    (
        "filmSessionLabel",
        "Text",
        "external",
        "Film Session Label (2000,0050) given by the print SCU",
    ),
    (
        "ownerID",
        "Text",
        "external",
        "Owner ID (2100,0160) given by the print SCU",
    ),
    (
        "callingAETitle",
        "Text",
        "external",
        "AE title of the print SCU that sent the job",
    ),
    ("queue", "Text", "internal", "filmd print queue"),
    (
        "films",
        "seq Film",
        "internal",
        "Parameters of each film, one per page in page order",
    ),
];

/// Fields of the `Film` structure: (name, value type, description).
const FILM_FIELDS: [(&str, &str, &str); 7] = [
    ("filmSizeID", "Text", "Film Size ID (2010,0050)"),
    ("filmOrientation", "Text", "Film Orientation (2010,0040)"),
    (
        "imageDisplayFormat",
        "Text",
        "Image Display Format (2010,0010)",
    ),
    (
        "magnificationType",
        "Text",
        "Magnification Type (2010,0060)",
    ),
    (
        "minDensity",
        "Integer",
        "Min Density (2010,0120), hundredths of optical density",
    ),
    (
        "maxDensity",
        "Integer",
        "Max Density (2010,0130), hundredths of optical density",
    ),
    ("mediumType", "Text", "Medium Type (2000,0030)"),
];

/// The PDF/A extension schema container describing the filmd schema and its `Film`
/// value type (ISO 19005-2 6.6.2.3.2, ISO 19005-1 Technical Corrigendum 2 tables).
fn extension_schema() -> String {
    let mut x = String::with_capacity(6144);
    x.push_str(concat!(
        " <rdf:Description rdf:about=\"\"",
        " xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\"",
        " xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\"",
        " xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\"",
        " xmlns:pdfaType=\"http://www.aiim.org/pdfa/ns/type#\"",
        " xmlns:pdfaField=\"http://www.aiim.org/pdfa/ns/field#\">\n",
        "  <pdfaExtension:schemas>\n   <rdf:Bag>\n",
        "    <rdf:li rdf:parseType=\"Resource\">\n",
        "     <pdfaSchema:schema>filmd DICOM print job</pdfaSchema:schema>\n",
    ));
    let _ = writeln!(
        x,
        "     <pdfaSchema:namespaceURI>{FILMD_NS}</pdfaSchema:namespaceURI>"
    );
    x.push_str("     <pdfaSchema:prefix>filmd</pdfaSchema:prefix>\n");
    x.push_str("     <pdfaSchema:property>\n      <rdf:Seq>\n");
    for (name, value_type, category, description) in PROPERTIES {
        let _ = write!(
            x,
            concat!(
                "       <rdf:li rdf:parseType=\"Resource\">\n",
                "        <pdfaProperty:name>{}</pdfaProperty:name>\n",
                "        <pdfaProperty:valueType>{}</pdfaProperty:valueType>\n",
                "        <pdfaProperty:category>{}</pdfaProperty:category>\n",
                "        <pdfaProperty:description>{}</pdfaProperty:description>\n",
                "       </rdf:li>\n",
            ),
            name, value_type, category, description
        );
    }
    x.push_str("      </rdf:Seq>\n     </pdfaSchema:property>\n");
    x.push_str("     <pdfaSchema:valueType>\n      <rdf:Seq>\n");
    x.push_str("       <rdf:li rdf:parseType=\"Resource\">\n");
    x.push_str("        <pdfaType:type>Film</pdfaType:type>\n");
    let _ = writeln!(
        x,
        "        <pdfaType:namespaceURI>{FILM_NS}</pdfaType:namespaceURI>"
    );
    x.push_str("        <pdfaType:prefix>filmdFilm</pdfaType:prefix>\n");
    x.push_str(
        "        <pdfaType:description>One film of a DICOM print job</pdfaType:description>\n",
    );
    x.push_str("        <pdfaType:field>\n         <rdf:Seq>\n");
    for (name, value_type, description) in FILM_FIELDS {
        let _ = write!(
            x,
            concat!(
                "          <rdf:li rdf:parseType=\"Resource\">\n",
                "           <pdfaField:name>{}</pdfaField:name>\n",
                "           <pdfaField:valueType>{}</pdfaField:valueType>\n",
                "           <pdfaField:description>{}</pdfaField:description>\n",
                "          </rdf:li>\n",
            ),
            name, value_type, description
        );
    }
    x.push_str("         </rdf:Seq>\n        </pdfaType:field>\n       </rdf:li>\n");
    x.push_str("      </rdf:Seq>\n     </pdfaSchema:valueType>\n");
    x.push_str("    </rdf:li>\n   </rdf:Bag>\n  </pdfaExtension:schemas>\n </rdf:Description>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_are_utc_pdf_and_xmp_dates() {
        assert_eq!(pdf_date(UNIX_EPOCH), "D:19700101000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723);
        assert_eq!(pdf_date(leap), "D:20000229010203Z");
        assert_eq!(xmp_date(leap), "2000-02-29T01:02:03Z");
    }

    #[test]
    fn text_strings_are_ascii_literals_or_utf16_with_bom() {
        assert_eq!(
            text_string("Film (1) \\ a"),
            Object::String(b"Film (1) \\ a".to_vec(), StringFormat::Literal)
        );
        assert_eq!(
            text_string("Ä€"),
            Object::String(
                vec![0xfe, 0xff, 0x00, 0xc4, 0x20, 0xac],
                StringFormat::Hexadecimal
            )
        );
        assert!(matches!(
            text_string("a\tb"),
            Object::String(_, StringFormat::Hexadecimal)
        ));
        let decoded = lopdf::decode_text_string(&text_string("Ärztin 😀")).expect("decode");
        assert_eq!(decoded, "Ärztin 😀");
    }

    #[test]
    fn text_is_cleaned_for_xml_and_escaped() {
        assert_eq!(
            clean_text("a\u{1b}$B\u{0}b\r\n"),
            "a\u{fffd}$B\u{fffd}b\r\n"
        );
        assert_eq!(clean_text(&"x".repeat(10_000)).len(), MAX_TEXT_CHARS);
    }

    #[test]
    fn uids_under_2_25_are_their_uuid() {
        // PS3.5 B.2's example.
        let uuid = uid_uuid("2.25.329800735698586629295641978511506172918");
        assert_eq!(uuid_string(&uuid), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
        let other = uid_uuid("1.2.840.113619.2.1");
        assert_eq!(other, uid_uuid("1.2.840.113619.2.1"), "stable");
        assert_eq!(other[6] >> 4, 8, "version 8");
        assert_eq!(other[8] >> 6, 2, "RFC 9562 variant");
        assert_ne!(other, uid_uuid("1.2.840.113619.2.2"));
        // Too large for 128 bits: hashed, not wrapped.
        assert_eq!(
            uid_uuid("2.25.999999999999999999999999999999999999999")[6] >> 4,
            8
        );
    }

    #[test]
    fn identifiers_follow_the_job_and_the_time() {
        let mut info = DocumentInfo {
            print_job_uid: "2.25.329800735698586629295641978511506172918".into(),
            job_id: "7".into(),
            ..DocumentInfo::default()
        };
        let a = Identifiers::of(&info);
        assert_eq!(
            uuid_string(&a.document),
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
        );
        assert_ne!(a.instance, a.document);
        info.created += Duration::from_secs(1);
        let b = Identifiers::of(&info);
        assert_eq!(b.document, a.document, "same job, same document");
        assert_ne!(
            b.instance, a.instance,
            "another rendering, another instance"
        );
        info.print_job_uid.clear();
        let c = Identifiers::of(&info);
        assert_eq!(c.document, c.instance);
    }
}
