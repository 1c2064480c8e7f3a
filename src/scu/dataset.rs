//! Request data sets of Basic Print Management (PS3.4 Annex H, attributes in PS3.3
//! C.13): film session, film box, image box and the image pixel items they carry.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::print::uids;

/// Film session attributes.
pub fn film_session(copies: u32, label: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::NUMBER_OF_COPIES,
            VR::IS,
            PrimitiveValue::from(copies.to_string()),
        ),
        DataElement::new(
            tags::FILM_SESSION_LABEL,
            VR::LO,
            PrimitiveValue::from(label),
        ),
        DataElement::new(tags::MEDIUM_TYPE, VR::CS, PrimitiveValue::from("BLUE FILM")),
    ])
}

/// Film box attributes referencing `session`, plus `extra` (tag, VR, value) strings.
pub fn film_box(
    session: &str,
    format: &str,
    size: &str,
    orientation: &str,
    extra: &[(Tag, VR, &str)],
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::IMAGE_DISPLAY_FORMAT,
            VR::ST,
            PrimitiveValue::from(format),
        ),
        DataElement::new(tags::FILM_SIZE_ID, VR::CS, PrimitiveValue::from(size)),
        DataElement::new(
            tags::FILM_ORIENTATION,
            VR::CS,
            PrimitiveValue::from(orientation),
        ),
        DataElement::new(
            tags::REFERENCED_FILM_SESSION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![reference(uids::BASIC_FILM_SESSION, session)]),
        ),
    ]);
    for (tag, vr, v) in extra {
        obj.put(element(*tag, *vr, v));
    }
    obj
}

/// An element from its text: US values are numbers (multi-valued with `\\`); a US text
/// that does not parse is sent as text, making a data set the SCP must reject.
fn element(tag: Tag, vr: VR, text: &str) -> DataElement<InMemDicomObject> {
    if vr == VR::US {
        let values: Result<Vec<u16>, _> =
            text.split('\\').map(|v| v.trim().parse::<u16>()).collect();
        if let Ok(values) = values {
            return DataElement::new(tag, VR::US, PrimitiveValue::U16(values.into()));
        }
    }
    DataElement::new(tag, vr, PrimitiveValue::from(text))
}

/// A reference sequence item (Referenced SOP Class / Instance UID).
pub fn reference(class: &str, instance: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class),
        ),
        DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(instance),
        ),
    ])
}

/// A grayscale image item (PS3.3 C.13.5): `bits` 8 (Bits Allocated 8) or 9–16 (Bits
/// Allocated 16, little-endian words), pixels row-major.
pub fn gray_image(
    rows: u16,
    cols: u16,
    bits: u16,
    photometric: &str,
    pixels: &[u16],
) -> InMemDicomObject {
    let (allocated, high) = if bits == 8 {
        (8u16, 7u16)
    } else {
        (16, bits - 1)
    };
    let data: Vec<u8> = if bits == 8 {
        pixels.iter().map(|&v| v as u8).collect()
    } else {
        pixels.iter().flat_map(|v| v.to_le_bytes()).collect()
    };
    image_item(
        rows,
        cols,
        1,
        photometric,
        allocated,
        bits,
        high,
        data,
        None,
    )
}

/// An RGB image item, planar configuration 1 (color-by-plane) from interleaved pixels.
pub fn rgb_image(rows: u16, cols: u16, rgb: &[[u8; 3]]) -> InMemDicomObject {
    let n = rgb.len();
    let mut data = vec![0u8; n * 3];
    for (i, p) in rgb.iter().enumerate() {
        data[i] = p[0];
        data[n + i] = p[1];
        data[2 * n + i] = p[2];
    }
    image_item(rows, cols, 3, "RGB", 8, 8, 7, data, Some(1))
}

/// An image pixel item with explicit Image Pixel Module attributes (PS3.3 C.7.6.3),
/// unchecked: tests build malformed items with it.
#[allow(clippy::too_many_arguments)]
pub fn image_item(
    rows: u16,
    cols: u16,
    samples: u16,
    photometric: &str,
    allocated: u16,
    stored: u16,
    high: u16,
    data: Vec<u8>,
    planar: Option<u16>,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(samples),
        ),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
        DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(allocated),
        ),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(stored)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(high)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        DataElement::new(
            tags::PIXEL_DATA,
            if allocated == 8 { VR::OB } else { VR::OW },
            PrimitiveValue::from(data),
        ),
    ]);
    if let Some(p) = planar {
        obj.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(p),
        ));
    }
    obj
}

/// The image box N-SET data set holding `image` at `position`.
pub fn image_box(
    position: u16,
    image: InMemDicomObject,
    color: bool,
    extra: &[(Tag, VR, &str)],
) -> InMemDicomObject {
    let seq = if color {
        tags::BASIC_COLOR_IMAGE_SEQUENCE
    } else {
        tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE
    };
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::IMAGE_BOX_POSITION,
            VR::US,
            PrimitiveValue::from(position),
        ),
        DataElement::new(seq, VR::SQ, DataSetSequence::from(vec![image])),
    ]);
    for (tag, vr, v) in extra {
        obj.put(element(*tag, *vr, v));
    }
    obj
}

/// UIDs of a reference sequence in a response, in item order; items without a
/// Referenced SOP Instance UID are left out (callers compare the count).
pub fn referenced_uids(data: &InMemDicomObject, seq: Tag) -> Vec<String> {
    data.get(seq)
        .and_then(|e| e.items())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let uid = i.element(tags::REFERENCED_SOP_INSTANCE_UID).ok()?;
                    let uid = uid.to_str().ok()?;
                    Some(uid.trim_end_matches(['\0', ' ']).to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}
