//! The pure half of `filmd print`: where to print (`AE@host:port`), how the images split
//! into films, and the request data sets of Basic Print Management (PS3.4 H.4, attributes
//! in PS3.3 C.13) holding only what the user gave, so that the SCP's defaults apply to
//! the rest. No I/O here: the network half is [`super::run`].

use super::super::dataset::{image_item, reference};
use crate::film::{Image, Photometric};
use crate::print::uids;
use crate::render::FilmOptions;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::collections::BTreeSet;
use std::ops::Range;

/// A Print SCP's address: Called AE Title, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub ae_title: String,
    pub host: String,
    pub port: u16,
}

impl Destination {
    /// `AE@host:port`; an IPv6 host in brackets (`PRINTER@[::1]:104`). The AE title is
    /// 1 to 16 characters of the default repertoire without backslash (PS3.5 6.2, AE).
    pub fn parse(text: &str) -> Result<Destination, String> {
        let usage = || format!("{text:?}: use AE@host:port, e.g. PRINTSCP@127.0.0.1:11112");
        let (ae, address) = text.rsplit_once('@').ok_or_else(usage)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(usage)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ae_title = ae_title(ae).map_err(|e| format!("{e} ({})", usage()))?;
        if host.is_empty() {
            return Err(usage());
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("port {port:?}: 1 to 65535 ({})", usage()))?;
        Ok(Destination {
            ae_title,
            host: host.to_string(),
            port,
        })
    }
}

/// An AE title as given on the command line (`--to`, `--calling-ae`): without its leading
/// and trailing spaces, which are not significant, 1 to 16 characters of the default
/// repertoire, no backslash and no control characters (PS3.5 6.2, AE).
pub fn ae_title(text: &str) -> Result<String, String> {
    let ae_title = text.trim_matches(' ');
    if ae_title.is_empty()
        || ae_title.len() > 16
        || !ae_title.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        || ae_title.contains('\\')
    {
        return Err(format!(
            "AE title {text:?}: 1 to 16 characters, no backslash or control characters, \
             not all spaces"
        ));
    }
    Ok(ae_title.to_string())
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.ae_title, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.ae_title, self.host, self.port)
        }
    }
}

/// The films `images` images take on a film box of `boxes` image boxes: each film's
/// range of image indices, in order, every film full but the last (PS3.4 H.4.2: one film
/// box per film, the image boxes in Image Box Position order). No images, no films.
pub fn plan_films(images: usize, boxes: usize) -> Vec<Range<usize>> {
    if boxes == 0 {
        return Vec::new();
    }
    (0..images.div_ceil(boxes))
        .map(|f| f * boxes..((f + 1) * boxes).min(images))
        .collect()
}

/// Which arguments the user gave on the command line (clap's argument ids, the field
/// names): only those become attributes, so the SCP's own defaults apply to the rest.
pub type Given = BTreeSet<String>;

/// Film session attributes (PS3.3 C.13.1), each only when given: Number of Copies, Print
/// Priority, Medium Type, Film Session Label.
pub fn film_session(
    copies: Option<u32>,
    priority: Option<&str>,
    medium: Option<&str>,
    label: Option<&str>,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    if let Some(n) = copies {
        obj.put(DataElement::new(
            tags::NUMBER_OF_COPIES,
            VR::IS,
            PrimitiveValue::from(n.to_string()),
        ));
    }
    for (tag, vr, value) in [
        (tags::PRINT_PRIORITY, VR::CS, priority),
        (tags::MEDIUM_TYPE, VR::CS, medium),
        (tags::FILM_SESSION_LABEL, VR::LO, label),
    ] {
        if let Some(v) = value {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        }
    }
    obj
}

/// Film box attributes (PS3.3 C.13.3) for N-CREATE: the Image Display Format and the
/// Referenced Film Session Sequence, which PS3.4 H.4.2.2.1 makes mandatory, and of the
/// rest only what `given` names.
pub fn film_box(session_uid: &str, film: &FilmOptions, given: &Given) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::IMAGE_DISPLAY_FORMAT,
            VR::ST,
            PrimitiveValue::from(film.display_format.as_str()),
        ),
        DataElement::new(
            tags::REFERENCED_FILM_SESSION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![reference(uids::BASIC_FILM_SESSION, session_uid)]),
        ),
    ]);
    let has = |id: &str| given.contains(id);
    let texts: [(&str, Tag, Option<&str>); 6] = [
        (
            "annotation_format",
            tags::ANNOTATION_DISPLAY_FORMAT_ID,
            film.annotation_format.as_deref(),
        ),
        (
            "orientation",
            tags::FILM_ORIENTATION,
            Some(&film.orientation),
        ),
        ("film_size", tags::FILM_SIZE_ID, Some(&film.film_size)),
        (
            "magnification",
            tags::MAGNIFICATION_TYPE,
            film.magnification.as_deref(),
        ),
        (
            "border_density",
            tags::BORDER_DENSITY,
            Some(&film.border_density),
        ),
        (
            "empty_image_density",
            tags::EMPTY_IMAGE_DENSITY,
            Some(&film.empty_image_density),
        ),
    ];
    for (id, tag, value) in texts {
        if let (true, Some(v)) = (has(id), value) {
            obj.put(DataElement::new(tag, VR::CS, PrimitiveValue::from(v)));
        }
    }
    for (tag, value) in [
        (tags::MIN_DENSITY, film.min_density),
        (tags::MAX_DENSITY, film.max_density),
    ] {
        if let Some(v) = value {
            obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
        }
    }
    if film.trim {
        obj.put(DataElement::new(
            tags::TRIM,
            VR::CS,
            PrimitiveValue::from("YES"),
        ));
    }
    obj
}

/// Why an image cannot go into an image box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageItemError(pub String);

/// The Basic Grayscale or Color Image Sequence item of `image` (PS3.3 C.13.5, C.13.6):
/// grayscale as it is (8 bits in 8, or 12 in 16), colour as 8-bit RGB by plane (Planar
/// Configuration 1, as the Basic Color Image Box allows); on a colour film a grayscale
/// image becomes RGB with R = G = B. Pixel Aspect Ratio goes along when not 1:1 (its
/// Type 1C condition).
pub fn image_sequence_item(image: &Image, color: bool) -> Result<InMemDicomObject, ImageItemError> {
    let dims = |v: u32, what: &str| {
        u16::try_from(v)
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| ImageItemError(format!("{what} {v}: an image box takes 1 to 65535")))
    };
    let (rows, cols) = (dims(image.rows, "rows")?, dims(image.columns, "columns")?);
    let pixels = image.pixels.as_slice();
    let count = usize::from(rows) * usize::from(cols);
    let bytes_per_sample = if image.bits_stored == 8 { 1 } else { 2 };
    let samples = if image.photometric == Photometric::Rgb {
        3
    } else {
        1
    };
    if pixels.len() != count * samples * bytes_per_sample {
        return Err(ImageItemError(format!(
            "{} pixel bytes for {rows} x {cols} x {samples} samples of {} bits",
            pixels.len(),
            image.bits_stored
        )));
    }
    let mut item = if color {
        let rgb = to_rgb(image);
        let mut planes = vec![0u8; count * 3];
        for (i, p) in rgb.chunks_exact(3).enumerate() {
            planes[i] = p[0];
            planes[count + i] = p[1];
            planes[2 * count + i] = p[2];
        }
        image_item(rows, cols, 3, "RGB", 8, 8, 7, planes, Some(1))
    } else {
        let photometric = match image.photometric {
            Photometric::Monochrome1 => "MONOCHROME1",
            Photometric::Monochrome2 => "MONOCHROME2",
            Photometric::Rgb => {
                return Err(ImageItemError(
                    "a colour image needs a colour film (--color)".into(),
                ));
            }
        };
        let (allocated, stored) = if image.bits_stored == 8 {
            (8, 8)
        } else {
            (16, 12)
        };
        image_item(
            rows,
            cols,
            1,
            photometric,
            allocated,
            stored,
            stored - 1,
            pixels.to_vec(),
            None,
        )
    };
    let (v, h) = image.pixel_aspect_ratio;
    if v != h && v > 0 && h > 0 {
        item.put(DataElement::new(
            tags::PIXEL_ASPECT_RATIO,
            VR::IS,
            PrimitiveValue::from(format!("{v}\\{h}")),
        ));
    }
    Ok(item)
}

/// Interleaved 8-bit RGB of a print-ready image: RGB as it is, grayscale as R = G = B
/// (12 bits to their top 8; MONOCHROME1 inverted, its lowest value being the brightest).
pub fn to_rgb(image: &Image) -> Vec<u8> {
    let p = image.pixels.as_slice();
    let gray: Vec<u8> = match (image.photometric, image.bits_stored) {
        (Photometric::Rgb, _) => return p.to_vec(),
        (_, 8) => p.to_vec(),
        _ => p
            .chunks_exact(2)
            .map(|w| ((u16::from_le_bytes([w[0], w[1]]) & 0x0FFF) >> 4) as u8)
            .collect(),
    };
    let invert = image.photometric == Photometric::Monochrome1;
    gray.into_iter()
        .flat_map(|g| {
            let g = if invert { 255 - g } else { g };
            [g, g, g]
        })
        .collect()
}

/// The image box N-SET data set (PS3.3 C.13.5): Image Box Position, Polarity when given,
/// and the image ([`crate::scu::dataset::image_box`], which the print tests' SCU uses).
pub fn image_box(
    position: u16,
    item: InMemDicomObject,
    color: bool,
    polarity: Option<&str>,
) -> InMemDicomObject {
    let polarity: Vec<_> = polarity
        .into_iter()
        .map(|p| (tags::POLARITY, VR::CS, p))
        .collect();
    crate::scu::dataset::image_box(position, item, color, &polarity)
}

/// The Basic Annotation Box N-SET data set (PS3.3 C.13.7): Annotation Position and Text
/// String (LO: at most 64 characters, so longer texts are cut).
pub fn annotation_box(position: u16, text: &str) -> InMemDicomObject {
    let text: String = text.chars().filter(|c| *c != '\\').take(64).collect();
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::ANNOTATION_POSITION,
            VR::US,
            PrimitiveValue::from(position),
        ),
        DataElement::new(tags::TEXT_STRING, VR::LO, PrimitiveValue::from(text)),
    ])
}
