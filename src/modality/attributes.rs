//! Reads [super::ImageAttributes] from a data set: the Image Pixel module (PS3.3
//! C.7.6.3), Multi-frame (C.7.6.6), Modality LUT (C.11.1), VOI LUT (C.11.2), the Palette
//! Color Lookup Tables (C.7.6.3.1.5, C.7.9) and the geometry (Pixel Aspect Ratio, Pixel
//! Spacing, Imager Pixel Spacing). Enhanced multi-frame objects (PS3.3 C.7.6.16) keep the
//! Modality and VOI LUT values in the Shared Functional Groups: those are used when the
//! top level has none.
//!
//! What is missing or breaks the standard is an [`ModalityError::Invalid`] naming the
//! attribute; every size is checked here before [`super::decode`] allocates a frame.

use super::{
    ImageAttributes, Lut, ModalityError, ModalityLut, Palette, StoredPhotometric, VoiFunction,
    Window,
};
use dicom_core::header::HasLength;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataDictionary, Tag};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

/// Most samples (rows × columns × samples per pixel) one frame may hold: 2^27 (an
/// 11 585² monochrome frame, or 6 689² RGB), 512 MiB as decoded `i32` values. Far above
/// any modality's frame and below what would take the machine down.
pub const MAX_FRAME_SAMPLES: u64 = 1 << 27;

/// Most samples of all frames together: 2^32, e.g. 1 000 frames of 2 048² RGB: the work
/// a file may declare. The memory the decoded frames take is bounded by
/// [`super::MAX_IMAGE_BYTES`], checked frame by frame.
pub const MAX_TOTAL_SAMPLES: u64 = 1 << 32;

/// Most entries a LUT Descriptor may declare: its first value is 16 bits, 0 meaning
/// 2^16 (PS3.3 C.11.1.1.1).
const MAX_LUT_ENTRIES: usize = 1 << 16;

/// Reads what the pipeline needs from `obj` (the data set of a DICOM file).
pub fn read_attributes(obj: &InMemDicomObject) -> Result<ImageAttributes, ModalityError> {
    let rows = required_uint(obj, tags::ROWS)?;
    let columns = required_uint(obj, tags::COLUMNS)?;
    let samples_per_pixel = required_uint(obj, tags::SAMPLES_PER_PIXEL)?;
    let photometric = photometric(obj)?;
    let bits_allocated = required_uint(obj, tags::BITS_ALLOCATED)?;
    let bits_stored = required_uint(obj, tags::BITS_STORED)?;
    let high_bit = required_uint(obj, tags::HIGH_BIT)?;
    let pixel_representation = required_uint(obj, tags::PIXEL_REPRESENTATION)?;
    let planar_configuration = if samples_per_pixel > 1 {
        required_uint(obj, tags::PLANAR_CONFIGURATION)?
    } else {
        optional_uint(obj, tags::PLANAR_CONFIGURATION)?.unwrap_or(0)
    };
    let frames = optional_uint(obj, tags::NUMBER_OF_FRAMES)?.unwrap_or(1);

    let fits = |v: u32, name: &str| {
        u16::try_from(v).map_err(|_| invalid(format!("{name} {v} is above 65535")))
    };
    let samples_per_pixel = fits(samples_per_pixel, "Samples per Pixel")?;
    let bits_allocated = fits(bits_allocated, "Bits Allocated")?;
    let bits_stored = fits(bits_stored, "Bits Stored")?;
    let high_bit = fits(high_bit, "High Bit")?;
    let planar_configuration = fits(planar_configuration, "Planar Configuration")?;
    if rows == 0 || columns == 0 {
        return Err(invalid(format!(
            "Rows {rows} × Columns {columns}: no pixels"
        )));
    }
    if frames == 0 {
        return Err(invalid("Number of Frames (0028,0008) is 0".into()));
    }
    if !matches!(bits_allocated, 1 | 8 | 16 | 32) {
        return Err(invalid(format!(
            "Bits Allocated (0028,0100) {bits_allocated}: 1, 8, 16 or 32"
        )));
    }
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(invalid(format!(
            "Bits Stored (0028,0101) {bits_stored} with Bits Allocated {bits_allocated}"
        )));
    }
    // PS3.5 8.1.1: the stored bits end at High Bit; anything else is not pixel data.
    if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
        return Err(invalid(format!(
            "High Bit (0028,0102) {high_bit} with Bits Stored {bits_stored} and Bits Allocated {bits_allocated}"
        )));
    }
    if pixel_representation > 1 {
        return Err(invalid(format!(
            "Pixel Representation (0028,0103) {pixel_representation}: 0 or 1"
        )));
    }
    if planar_configuration > 1 {
        return Err(invalid(format!(
            "Planar Configuration (0028,0006) {planar_configuration}: 0 or 1"
        )));
    }
    let expected_samples = match photometric {
        StoredPhotometric::Monochrome1
        | StoredPhotometric::Monochrome2
        | StoredPhotometric::PaletteColor => 1,
        _ => 3,
    };
    if samples_per_pixel != expected_samples {
        return Err(invalid(format!(
            "Samples per Pixel (0028,0002) {samples_per_pixel} with Photometric Interpretation {photometric:?}: {expected_samples}"
        )));
    }
    let frame_samples = u64::from(rows) * u64::from(columns) * u64::from(samples_per_pixel);
    if frame_samples > MAX_FRAME_SAMPLES {
        return Err(ModalityError::Unsupported(format!(
            "{rows} rows × {columns} columns × {samples_per_pixel} samples in one frame: filmd takes at most {MAX_FRAME_SAMPLES} samples a frame"
        )));
    }
    if frame_samples * u64::from(frames) > MAX_TOTAL_SAMPLES {
        return Err(ModalityError::Unsupported(format!(
            "{frames} frames of {frame_samples} samples: filmd takes at most {MAX_TOTAL_SAMPLES} samples a file"
        )));
    }

    let signed = pixel_representation == 1;
    let shared = shared_functional_groups(obj);
    let modality_lut = modality_lut(obj, shared, signed)?;
    let (windows, voi_function, voi_luts) = voi(obj, shared, signed)?;
    let palette = if photometric == StoredPhotometric::PaletteColor {
        Some(palette(obj)?)
    } else {
        None
    };
    Ok(ImageAttributes {
        rows,
        columns,
        samples_per_pixel,
        photometric,
        bits_allocated,
        bits_stored,
        high_bit,
        signed,
        planar_configuration,
        frames,
        modality_lut,
        windows,
        voi_function,
        voi_luts,
        palette,
        pixel_aspect_ratio: pixel_aspect_ratio(obj)?,
        pixel_spacing: pixel_spacing(obj, shared)?,
    })
}

fn invalid(message: String) -> ModalityError {
    ModalityError::Invalid(message)
}

/// "Window Center (0028,1050)": the attribute as a message names it.
fn name(tag: Tag) -> String {
    match StandardDataDictionary.by_tag(tag) {
        Some(entry) => format!("{} {tag}", spaced(entry.alias)),
        None => tag.to_string(),
    }
}

/// `WindowCenterWidthExplanation` → `Window Center Width Explanation`.
fn spaced(alias: &str) -> String {
    let mut out = String::with_capacity(alias.len() + 8);
    for (i, c) in alias.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn present(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemElement> {
    obj.get(tag).filter(|e| !e.is_empty())
}

fn required_uint(obj: &InMemDicomObject, tag: Tag) -> Result<u32, ModalityError> {
    optional_uint(obj, tag)?.ok_or_else(|| invalid(format!("{} is missing", name(tag))))
}

fn optional_uint(obj: &InMemDicomObject, tag: Tag) -> Result<Option<u32>, ModalityError> {
    present(obj, tag)
        .map(|e| {
            e.to_int::<u32>()
                .map_err(|_| invalid(format!("{} is not a number ≥ 0", name(tag))))
        })
        .transpose()
}

fn floats(obj: &InMemDicomObject, tag: Tag) -> Result<Option<Vec<f64>>, ModalityError> {
    present(obj, tag)
        .map(|e| {
            // Text split here when dicom-object has not (VR UN, or a value built as
            // one string).
            let split = |text: &str| {
                text.split('\\')
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<Result<Vec<f64>, _>>()
                    .ok()
            };
            let parsed = match unknown_text(e) {
                Some(text) => split(&text),
                None => e
                    .to_multi_float64()
                    .ok()
                    .or_else(|| e.to_str().ok().and_then(|t| split(&t))),
            };
            parsed
                .filter(|v| v.iter().all(|x| x.is_finite()))
                .ok_or_else(|| invalid(format!("{} is not a list of numbers", name(tag))))
        })
        .transpose()
}

/// The text of an element written with VR UN (PS3.5 6.2.2: an implicit VR data set
/// converted to explicit VR by a tool that did not know the attribute): dicom-object
/// keeps such values as bytes, and the string attributes read here (DS, IS, CS) are
/// their text.
fn unknown_text(element: &InMemElement) -> Option<String> {
    if element.vr() != dicom_core::VR::UN {
        return None;
    }
    match element.value() {
        Value::Primitive(PrimitiveValue::U8(bytes)) => Some(
            String::from_utf8_lossy(bytes)
                .trim_end_matches(['\0', ' '])
                .to_string(),
        ),
        _ => None,
    }
}

fn string(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let element = present(obj, tag)?;
    unknown_text(element)
        .or_else(|| element.to_str().ok().map(|s| s.into_owned()))
        .map(|s| s.trim().to_string())
}

fn photometric(obj: &InMemDicomObject) -> Result<StoredPhotometric, ModalityError> {
    let tag = tags::PHOTOMETRIC_INTERPRETATION;
    let value = string(obj, tag).ok_or_else(|| invalid(format!("{} is missing", name(tag))))?;
    Ok(match value.as_str() {
        "MONOCHROME1" => StoredPhotometric::Monochrome1,
        "MONOCHROME2" => StoredPhotometric::Monochrome2,
        "RGB" => StoredPhotometric::Rgb,
        "YBR_FULL" => StoredPhotometric::YbrFull,
        "YBR_FULL_422" => StoredPhotometric::YbrFull422,
        "PALETTE COLOR" => StoredPhotometric::PaletteColor,
        // PS3.5 8.2.4: only in JPEG 2000, whose decoder undoes the component transform:
        // the stored values reach the pipeline as RGB.
        "YBR_ICT" | "YBR_RCT" => StoredPhotometric::Rgb,
        other => {
            return Err(ModalityError::Unsupported(format!(
                "Photometric Interpretation {other:?}: filmd takes MONOCHROME1, MONOCHROME2, RGB, YBR_FULL, YBR_FULL_422, PALETTE COLOR (and YBR_ICT/YBR_RCT in JPEG 2000)"
            )));
        }
    })
}

/// The first item of the Shared Functional Groups Sequence (5200,9229), PS3.3 C.7.6.16.
fn shared_functional_groups(obj: &InMemDicomObject) -> Option<&InMemDicomObject> {
    obj.get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
}

/// The first item of a functional group macro's sequence in the shared group.
fn shared_item(shared: Option<&InMemDicomObject>, sequence: Tag) -> Option<&InMemDicomObject> {
    shared
        .and_then(|group| group.get(sequence))
        .and_then(|e| e.items())
        .and_then(|items| items.first())
}

/// Modality LUT module (PS3.3 C.11.1): a Modality LUT Sequence, else Rescale Slope and
/// Intercept, else the Pixel Value Transformation functional group, else identity.
fn modality_lut(
    obj: &InMemDicomObject,
    shared: Option<&InMemDicomObject>,
    signed: bool,
) -> Result<ModalityLut, ModalityError> {
    if let Some(item) = obj
        .get(tags::MODALITY_LUT_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
    {
        return Ok(ModalityLut::Table(lut(
            item,
            tags::LUT_DESCRIPTOR,
            tags::LUT_DATA,
            signed,
        )?));
    }
    let source = if present(obj, tags::RESCALE_SLOPE).is_some() {
        Some(obj)
    } else {
        shared_item(shared, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE)
    };
    let Some(source) = source else {
        return Ok(ModalityLut::IDENTITY);
    };
    let one = |tag| -> Result<Option<f64>, ModalityError> {
        Ok(floats(source, tag)?.and_then(|v| v.first().copied()))
    };
    match (one(tags::RESCALE_SLOPE)?, one(tags::RESCALE_INTERCEPT)?) {
        (None, None) => Ok(ModalityLut::IDENTITY),
        (Some(slope), Some(intercept)) => Ok(ModalityLut::Rescale { slope, intercept }),
        (Some(_), None) => Err(invalid(format!(
            "{} is missing beside Rescale Slope",
            name(tags::RESCALE_INTERCEPT)
        ))),
        (None, Some(_)) => Err(invalid(format!(
            "{} is missing beside Rescale Intercept",
            name(tags::RESCALE_SLOPE)
        ))),
    }
}

type Voi = (Vec<(Window, String)>, VoiFunction, Vec<Lut>);

/// VOI LUT module (PS3.3 C.11.2): the windows with their explanations and function, and
/// the VOI LUT Sequence; from the Frame VOI LUT functional group when the top level has
/// neither.
fn voi(
    obj: &InMemDicomObject,
    shared: Option<&InMemDicomObject>,
    signed: bool,
) -> Result<Voi, ModalityError> {
    let top_level = present(obj, tags::WINDOW_CENTER).is_some()
        || obj
            .get(tags::VOILUT_SEQUENCE)
            .and_then(|e| e.items())
            .is_some_and(|items| !items.is_empty());
    let source = if top_level {
        obj
    } else {
        shared_item(shared, tags::FRAME_VOILUT_SEQUENCE).unwrap_or(obj)
    };
    let centers = floats(source, tags::WINDOW_CENTER)?.unwrap_or_default();
    let widths = floats(source, tags::WINDOW_WIDTH)?.unwrap_or_default();
    if centers.len() != widths.len() {
        return Err(invalid(format!(
            "{} has {} values and {} has {}: one width for each center",
            name(tags::WINDOW_CENTER),
            centers.len(),
            name(tags::WINDOW_WIDTH),
            widths.len()
        )));
    }
    let explanations: Vec<String> = present(source, tags::WINDOW_CENTER_WIDTH_EXPLANATION)
        .and_then(|e| e.to_multi_str().ok())
        .map(|v| {
            v.iter()
                .flat_map(|s| s.split('\\'))
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    let voi_function = match string(source, tags::VOILUT_FUNCTION).as_deref() {
        None | Some("") | Some("LINEAR") => VoiFunction::Linear,
        Some("LINEAR_EXACT") => VoiFunction::LinearExact,
        Some("SIGMOID") => VoiFunction::Sigmoid,
        Some(other) => {
            // LINEAR is the function when none is given (PS3.3 C.11.2.1.3); an unknown
            // one must not make the image unprintable, least of all with --window.
            tracing::warn!(
                "{} {other:?} unknown (LINEAR, LINEAR_EXACT or SIGMOID): LINEAR used",
                name(tags::VOILUT_FUNCTION)
            );
            VoiFunction::Linear
        }
    };
    // Widths are checked (PS3.3 C.11.2.1.2) only for the window the pipeline chooses
    // (`voi::check_file_window`): a bad second window, or any with --window, is no
    // reason to refuse the image.
    let mut windows = Vec::with_capacity(centers.len());
    for (i, (&center, &width)) in centers.iter().zip(&widths).enumerate() {
        let explanation = explanations.get(i).cloned().unwrap_or_default();
        windows.push((Window { center, width }, explanation));
    }
    let mut voi_luts = Vec::new();
    if let Some(items) = source.get(tags::VOILUT_SEQUENCE).and_then(|e| e.items()) {
        for item in items {
            voi_luts.push(lut(item, tags::LUT_DESCRIPTOR, tags::LUT_DATA, signed)?);
        }
    }
    Ok((windows, voi_function, voi_luts))
}

/// A LUT from its descriptor and data (PS3.3 C.11.1.1.1): the descriptor's first value
/// 0 means 65 536 entries, its second is signed when the input is (`signed`).
fn lut(
    item: &InMemDicomObject,
    descriptor_tag: Tag,
    data_tag: Tag,
    signed: bool,
) -> Result<Lut, ModalityError> {
    let (entries, first_mapped, bits) = descriptor(item, descriptor_tag, signed)?;
    let element =
        present(item, data_tag).ok_or_else(|| invalid(format!("{} is missing", name(data_tag))))?;
    let data = lut_words(element, entries, bits)
        .ok_or_else(|| invalid(format!("{} is not US or OW data", name(data_tag))))?;
    if data.len() < entries {
        return Err(invalid(format!(
            "{} holds {} entries, its descriptor {}",
            name(data_tag),
            data.len(),
            entries
        )));
    }
    let mut data = data;
    data.truncate(entries);
    Ok(Lut {
        first_mapped,
        bits,
        data,
    })
}

/// The LUT Descriptor's entry count, first mapped value and bits per entry.
fn descriptor(
    item: &InMemDicomObject,
    tag: Tag,
    signed: bool,
) -> Result<(usize, i32, u8), ModalityError> {
    let element = present(item, tag).ok_or_else(|| invalid(format!("{} is missing", name(tag))))?;
    let values: Vec<i64> = element
        .to_multi_int::<i64>()
        .ok()
        .filter(|v| v.len() == 3)
        .ok_or_else(|| invalid(format!("{} is not three numbers", name(tag))))?;
    // Stored as US or SS: read both ways, reinterpret as 16 bits.
    let as_u16 = |v: i64| (v & 0xffff) as u16;
    let entries = match as_u16(values[0]) {
        0 => MAX_LUT_ENTRIES,
        n => usize::from(n),
    };
    let first_mapped = if signed {
        i32::from(as_u16(values[1]) as i16)
    } else {
        i32::from(as_u16(values[1]))
    };
    let bits = values[2];
    if !(8..=16).contains(&bits) {
        return Err(invalid(format!(
            "{}: {bits} bits per entry, 8 to 16",
            name(tag)
        )));
    }
    Ok((entries, first_mapped, bits as u8))
}

/// LUT Data as 16-bit words: US or OW values, or OB bytes (8-bit entries). 8-bit entries
/// packed two to an OW word (as some palettes are) are unpacked, low byte first.
fn lut_words(element: &InMemElement, entries: usize, bits: u8) -> Option<Vec<u16>> {
    let words: Vec<u16> = match element.value() {
        Value::Primitive(PrimitiveValue::U16(v)) => v.to_vec(),
        Value::Primitive(PrimitiveValue::I16(v)) => v.iter().map(|&x| x as u16).collect(),
        Value::Primitive(PrimitiveValue::U8(v)) => {
            return Some(v.iter().map(|&b| u16::from(b)).collect());
        }
        Value::Primitive(_) => element.to_multi_int::<u16>().ok()?,
        _ => return None,
    };
    if bits == 8 && words.len() < entries && words.len() * 2 >= entries {
        return Some(
            words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .map(u16::from)
                .collect(),
        );
    }
    Some(words)
}

/// The Red, Green and Blue Palette Color Lookup Tables (PS3.3 C.7.6.3.1.5), or their
/// segmented form (C.7.9.2).
fn palette(obj: &InMemDicomObject) -> Result<Palette, ModalityError> {
    let channel = |descriptor_tag: Tag, data_tag: Tag, segmented_tag: Tag| {
        if present(obj, data_tag).is_none() && present(obj, segmented_tag).is_some() {
            let (entries, first_mapped, bits) = descriptor(obj, descriptor_tag, false)?;
            let words = present(obj, segmented_tag)
                .and_then(|e| lut_words(e, 0, 16))
                .ok_or_else(|| invalid(format!("{} is not OW data", name(segmented_tag))))?;
            let data = super::segmented::expand(&words, entries)
                .map_err(|why| invalid(format!("{}: {why}", name(segmented_tag))))?;
            return Ok(Lut {
                first_mapped,
                bits,
                data,
            });
        }
        lut(obj, descriptor_tag, data_tag, false)
    };
    Ok(Palette {
        red: channel(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        )?,
        green: channel(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        )?,
        blue: channel(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        )?,
    })
}

/// Pixel Aspect Ratio (0028,0034): vertical, horizontal; both above 0.
fn pixel_aspect_ratio(obj: &InMemDicomObject) -> Result<Option<(u32, u32)>, ModalityError> {
    let tag = tags::PIXEL_ASPECT_RATIO;
    let Some(element) = present(obj, tag) else {
        return Ok(None);
    };
    match element.to_multi_int::<u32>().ok().as_deref() {
        Some(&[v, h]) if v > 0 && h > 0 => Ok(Some((v, h))),
        // It only shapes the pixels: a malformed one is no reason to refuse the image.
        _ => Ok(ignored_geometry(tag)),
    }
}

/// A malformed optional geometry attribute: logged and left out, so the pixels are
/// taken as square (what a viewer does too).
fn ignored_geometry<T>(tag: dicom_core::Tag) -> Option<T> {
    tracing::warn!(
        "{} is not two numbers above 0: pixels taken as square",
        name(tag)
    );
    None
}

/// Pixel Spacing (0028,0030), else Imager Pixel Spacing (0018,1164), else the Pixel
/// Measures functional group's: row spacing, column spacing in mm.
fn pixel_spacing(
    obj: &InMemDicomObject,
    shared: Option<&InMemDicomObject>,
) -> Result<Option<(f64, f64)>, ModalityError> {
    let measures = shared_item(shared, tags::PIXEL_MEASURES_SEQUENCE);
    let sources = [
        (Some(obj), tags::PIXEL_SPACING),
        (Some(obj), tags::IMAGER_PIXEL_SPACING),
        (measures, tags::PIXEL_SPACING),
    ];
    for (source, tag) in sources {
        let values = match source.map(|s| floats(s, tag)).transpose() {
            Ok(Some(Some(values))) => values,
            Ok(_) => continue,
            Err(_) => return Ok(ignored_geometry(tag)),
        };
        return match values.as_slice() {
            &[row, column] if row > 0.0 && column > 0.0 => Ok(Some((row, column))),
            _ => Ok(ignored_geometry(tag)),
        };
    }
    Ok(None)
}

#[cfg(test)]
#[path = "tests/attributes.rs"]
mod tests;
