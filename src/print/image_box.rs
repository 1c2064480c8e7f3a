//! Basic Grayscale Image Box and Basic Color Image Box SOP Classes (PS3.4 H.4.3, H.4.4):
//! N-SET with the image, validated against PS3.3 C.13.5 / C.13.6 before anything is kept.

use super::PrintHandler;
use super::attrs::{self, Refusal, tag_u32};
use super::status;
use crate::film::compose::{image_box_bounds, placement_in_box};
use crate::film::placement::Fit;
use crate::film::{
    DecimateCrop, Device, Film, Image, ImageBox, Magnification, Photometric, Pixels, Polarity,
};
use crate::net::Response;
use dicom_core::Tag;
use dicom_core::header::HasLength;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Largest image side accepted. Pixel data must match Rows × Columns anyway, so this only
/// keeps composition arithmetic comfortable.
pub const MAX_IMAGE_SIDE: u32 = 16384;

/// An image box with its UID and what it holds.
#[derive(Debug, Clone)]
pub struct ImageBoxState {
    pub uid: String,
    pub image_box: ImageBox,
    /// As the SCU sent it; resolved to a kernel when the film is copied for printing.
    pub smoothing_type: Option<String>,
    pub configuration_information: Option<String>,
    /// Pixel bytes held.
    pub bytes: usize,
}

impl ImageBoxState {
    pub fn new(uid: String, position: u32) -> Self {
        ImageBoxState {
            uid,
            image_box: ImageBox::empty(position),
            smoothing_type: None,
            configuration_information: None,
            bytes: 0,
        }
    }
}

const GRAYSCALE_ALLOWED: [Tag; 12] = [
    tags::IMAGE_BOX_POSITION,
    tags::POLARITY,
    tags::MAGNIFICATION_TYPE,
    tags::SMOOTHING_TYPE,
    tags::MIN_DENSITY,
    tags::MAX_DENSITY,
    tags::CONFIGURATION_INFORMATION,
    tags::REQUESTED_IMAGE_SIZE,
    tags::REQUESTED_DECIMATE_CROP_BEHAVIOR,
    tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE,
    tags::REFERENCED_PRESENTATION_LUT_SEQUENCE,
    tags::ORIGINAL_IMAGE_SEQUENCE,
];

const COLOR_ALLOWED: [Tag; 8] = [
    tags::IMAGE_BOX_POSITION,
    tags::POLARITY,
    tags::MAGNIFICATION_TYPE,
    tags::SMOOTHING_TYPE,
    tags::CONFIGURATION_INFORMATION,
    tags::REQUESTED_IMAGE_SIZE,
    tags::REQUESTED_DECIMATE_CROP_BEHAVIOR,
    tags::BASIC_COLOR_IMAGE_SEQUENCE,
];

fn required(item: &InMemDicomObject, tag: Tag) -> Result<u32, Refusal> {
    attrs::unsigned(item, tag)?.ok_or_else(|| {
        Refusal::at(
            status::MISSING_ATTRIBUTE,
            tag,
            format!("{} missing from the image", attrs::tag_name(tag)),
        )
    })
}

/// Validates and normalises the image of a Basic Grayscale or Color Image Sequence item.
pub fn parse_image(item: &InMemDicomObject, color: bool) -> Result<Image, Refusal> {
    let samples = required(item, tags::SAMPLES_PER_PIXEL)?;
    let photometric = attrs::string(item, tags::PHOTOMETRIC_INTERPRETATION)?.ok_or_else(|| {
        Refusal::at(
            status::MISSING_ATTRIBUTE,
            tags::PHOTOMETRIC_INTERPRETATION,
            "Photometric Interpretation missing",
        )
    })?;
    let rows = required(item, tags::ROWS)?;
    let columns = required(item, tags::COLUMNS)?;
    let allocated = required(item, tags::BITS_ALLOCATED)?;
    let stored = required(item, tags::BITS_STORED)?;
    let high_bit = required(item, tags::HIGH_BIT)?;
    let representation = attrs::unsigned(item, tags::PIXEL_REPRESENTATION)?.unwrap_or(0);
    let photometric = match (color, photometric.as_str()) {
        (false, "MONOCHROME1") => Photometric::Monochrome1,
        (false, "MONOCHROME2") => Photometric::Monochrome2,
        (true, "RGB") => Photometric::Rgb,
        (_, other) => {
            let accepted = if color {
                "RGB"
            } else {
                "MONOCHROME1 or MONOCHROME2"
            };
            return Err(Refusal::invalid(
                tags::PHOTOMETRIC_INTERPRETATION,
                format!("Photometric Interpretation {other:?}; use {accepted}"),
            ));
        }
    };
    if samples != if color { 3 } else { 1 } {
        return Err(Refusal::invalid(
            tags::SAMPLES_PER_PIXEL,
            format!("Samples per Pixel {samples} does not match {photometric:?}"),
        ));
    }
    if rows == 0 || columns == 0 || rows > MAX_IMAGE_SIDE || columns > MAX_IMAGE_SIDE {
        let tag = if rows == 0 || rows > MAX_IMAGE_SIDE {
            tags::ROWS
        } else {
            tags::COLUMNS
        };
        return Err(Refusal::invalid(
            tag,
            format!(
                "image of {rows} rows x {columns} columns; each side must be 1..={MAX_IMAGE_SIDE}"
            ),
        ));
    }
    let bits = match (color, allocated, stored, high_bit) {
        (_, 8, 8, 7) => 8u8,
        (false, 16, 12, 11) => 12,
        _ => {
            return Err(Refusal::invalid(
                tags::BITS_STORED,
                format!(
                    "Bits Allocated/Stored/High Bit {allocated}/{stored}/{high_bit}; use 8/8/7{}",
                    if color { "" } else { " or 16/12/11" }
                ),
            ));
        }
    };
    if representation != 0 {
        return Err(Refusal::invalid(
            tags::PIXEL_REPRESENTATION,
            "Pixel Representation must be 0 (unsigned)",
        ));
    }
    let planar = if color {
        attrs::unsigned(item, tags::PLANAR_CONFIGURATION)?.unwrap_or(1)
    } else {
        0
    };
    if planar > 1 {
        return Err(Refusal::invalid(
            tags::PLANAR_CONFIGURATION,
            format!("Planar Configuration {planar}"),
        ));
    }
    let pixel_aspect_ratio = match item.get(tags::PIXEL_ASPECT_RATIO) {
        None => (1, 1),
        Some(e) => match e.to_multi_int::<u32>().ok().as_deref() {
            Some([v, h]) if *v > 0 && *h > 0 && *v <= 1000 && *h <= 1000 => (*v, *h),
            _ => {
                return Err(Refusal::invalid(
                    tags::PIXEL_ASPECT_RATIO,
                    "Pixel Aspect Ratio must be two positive integers",
                ));
            }
        },
    };
    let element = item.get(tags::PIXEL_DATA).ok_or_else(|| {
        Refusal::at(
            status::MISSING_ATTRIBUTE,
            tags::PIXEL_DATA,
            "Pixel Data missing",
        )
    })?;
    let bytes = element.to_bytes().map_err(|_| {
        Refusal::invalid(
            tags::PIXEL_DATA,
            "Pixel Data is not native (uncompressed) data",
        )
    })?;
    let expected =
        rows as usize * columns as usize * samples as usize * if bits == 8 { 1 } else { 2 };
    // A single trailing pad byte makes an odd length even (PS3.5 8.1.1).
    if bytes.len() != expected && !(expected % 2 == 1 && bytes.len() == expected + 1) {
        return Err(Refusal::invalid(
            tags::PIXEL_DATA,
            format!(
                "Pixel Data has {} bytes; {rows}x{columns}x{samples} at {allocated} bits needs {expected}",
                bytes.len()
            ),
        ));
    }
    let mut pixels = bytes[..expected].to_vec();
    if bits == 12 {
        for pair in pixels.chunks_exact_mut(2) {
            pair[1] &= 0x0F; // bits above High Bit are not part of the value
        }
    }
    if color && planar == 1 {
        let plane = rows as usize * columns as usize;
        let mut interleaved = vec![0u8; expected];
        for (i, px) in interleaved.chunks_exact_mut(3).enumerate() {
            px[0] = pixels[i];
            px[1] = pixels[plane + i];
            px[2] = pixels[2 * plane + i];
        }
        pixels = interleaved;
    }
    Ok(Image {
        rows,
        columns,
        photometric,
        bits_stored: bits,
        pixel_aspect_ratio,
        pixels: Pixels::new(pixels),
    })
}

impl PrintHandler {
    fn find_image_box(&self, uid: &str) -> Option<(usize, usize)> {
        self.film_boxes.iter().enumerate().find_map(|(f, fb)| {
            fb.image_boxes
                .iter()
                .position(|b| b.uid == uid)
                .map(|i| (f, i))
        })
    }

    pub(crate) fn image_box_set(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
        color: bool,
    ) -> Result<Response, Refusal> {
        let Some(uid) = instance else {
            return Err(Refusal::new(
                status::MISSING_ATTRIBUTE,
                "Requested SOP Instance UID missing",
            ));
        };
        let (f, i) = self.find_image_box(&uid).ok_or_else(|| {
            Refusal::new(
                status::NO_SUCH_SOP_INSTANCE,
                format!("no image box {uid} on this association"),
            )
        })?;
        let session_color = self.session().is_some_and(|s| s.color);
        if session_color != color {
            return Err(Refusal::new(
                status::CLASS_INSTANCE_CONFLICT,
                format!(
                    "image box {uid} belongs to a {} film session",
                    if session_color { "color" } else { "grayscale" }
                ),
            ));
        }
        let mut state = self.film_boxes[f].image_boxes[i].clone();
        let mut warning = status::SUCCESS;
        if let Some(p) = attrs::unsigned(data, tags::IMAGE_BOX_POSITION)?
            && p != state.image_box.position
        {
            return Err(Refusal::invalid(
                tags::IMAGE_BOX_POSITION,
                format!(
                    "Image Box Position {p}; this image box is position {}",
                    state.image_box.position
                ),
            ));
        }
        if let Some(p) = attrs::term(
            data,
            tags::POLARITY,
            |s| match s {
                "NORMAL" => Some(Polarity::Normal),
                "REVERSE" => Some(Polarity::Reverse),
                _ => None,
            },
            "NORMAL or REVERSE",
        )? {
            state.image_box.polarity = p;
        }
        if let Some(m) = attrs::term(
            data,
            tags::MAGNIFICATION_TYPE,
            Magnification::from_term,
            "REPLICATE, BILINEAR, CUBIC or NONE",
        )? {
            state.image_box.magnification = Some(m);
        }
        if let Some(s) = attrs::string(data, tags::SMOOTHING_TYPE)? {
            state.smoothing_type = Some(s);
        }
        if let Some(c) = attrs::string(data, tags::CONFIGURATION_INFORMATION)? {
            state.configuration_information = Some(c);
        }
        if let Some(size) = attrs::decimal(data, tags::REQUESTED_IMAGE_SIZE)? {
            if !(size > 0.0 && size <= 1000.0) {
                return Err(Refusal::invalid(
                    tags::REQUESTED_IMAGE_SIZE,
                    format!("Requested Image Size {size} mm"),
                ));
            }
            state.image_box.requested_image_size_mm = Some(size);
        }
        if let Some(b) = attrs::term(
            data,
            tags::REQUESTED_DECIMATE_CROP_BEHAVIOR,
            DecimateCrop::from_term,
            "DECIMATE, CROP or FAIL",
        )? {
            state.image_box.decimate_crop = Some(b);
        }
        if !color {
            let fb = &self.film_boxes[f];
            let current_min = state.image_box.min_density.unwrap_or(fb.min_density);
            let current_max = state.image_box.max_density.unwrap_or(fb.max_density);
            if data.get(tags::MIN_DENSITY).is_some() || data.get(tags::MAX_DENSITY).is_some() {
                let (min, max, w) = self.densities(data, current_min, current_max)?;
                state.image_box.min_density = Some(min);
                state.image_box.max_density = Some(max);
                warning = w;
            }
            if data
                .get(tags::REFERENCED_PRESENTATION_LUT_SEQUENCE)
                .is_some()
            {
                state.image_box.presentation_lut = self.lut_reference(data)?;
            }
        }
        let sequence_tag = if color {
            tags::BASIC_COLOR_IMAGE_SEQUENCE
        } else {
            tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE
        };
        let mut new_bytes = state.bytes;
        if let Some(seq) = data.get(sequence_tag) {
            match seq.items() {
                // A zero-length sequence erases the image (PS3.4 H.4.3.1.2.1).
                Some([]) => {
                    state.image_box.image = None;
                    new_bytes = 0;
                }
                Some([item, ..]) => {
                    let image = parse_image(item, color)?;
                    new_bytes = image.pixels.as_slice().len();
                    state.image_box.image = Some(image);
                }
                None if seq.is_empty() => {
                    state.image_box.image = None;
                    new_bytes = 0;
                }
                None => {
                    return Err(Refusal::invalid(
                        sequence_tag,
                        "image sequence is not a sequence",
                    ));
                }
            }
        }
        // The image against its box as the film box stands now (PS3.4 H.4.3.1.2.1: B604,
        // B609, B60A, C603); the same rules are applied again at N-ACTION.
        let mut film = self.film_for(&self.film_boxes[f]);
        if let Some(slot) = film.image_boxes.get_mut(i) {
            *slot = ImageBox {
                smoothing: slot.smoothing,
                ..state.image_box.clone()
            };
        }
        let device = self.device(self.film_boxes[f].high_resolution);
        let (fit, fit_comment) =
            film_fit_status(&film, &device, |p| p == state.image_box.position)?;
        let limit = self.config.max_association_image_bytes;
        let total = self.image_bytes - state.bytes + new_bytes;
        if total > limit {
            return Err(Refusal::new(
                status::INSUFFICIENT_MEMORY,
                format!(
                    "this association already holds {} MiB of images; the limit is {} MiB",
                    self.image_bytes >> 20,
                    limit >> 20
                ),
            ));
        }
        self.image_bytes = total;
        state.bytes = new_bytes;
        self.film_boxes[f].image_boxes[i] = state;
        if fit != status::SUCCESS {
            // Losing part of the image outweighs a density clamped to the printer's range.
            return Ok(Response::error(fit, fit_comment, None));
        }
        let allowed: &[Tag] = if color {
            &COLOR_ALLOWED
        } else {
            &GRAYSCALE_ALLOWED
        };
        let unknown = attrs::unsupported(data, allowed);
        if !unknown.is_empty() && warning == status::SUCCESS {
            let mut r = Response::error(
                status::ATTRIBUTE_LIST_ERROR,
                "attributes not supported were ignored",
                None,
            );
            r.offending_element = unknown.into_iter().map(tag_u32).collect();
            return Ok(r);
        }
        Ok(Response::status(warning))
    }
}

/// How serious an image-size warning is, for choosing the one a response carries:
/// cropping loses part of the image, decimation and demagnification only detail.
pub(crate) fn fit_rank(code: u16) -> u8 {
    match code {
        status::IMAGE_CROPPED => 3,
        status::IMAGE_DECIMATED => 2,
        status::IMAGE_DEMAGNIFIED => 1,
        _ => 0,
    }
}

/// The Annex H status of the images of `film` at the positions `check` selects, placed in
/// their boxes exactly as composition will place them ([`crate::film::placement`]): success,
/// the most serious of B604 (demagnified), B60A (decimated) and B609 (cropped) with a
/// comment naming the box, or C603 (larger than the box and neither decimated nor cropped).
/// C613 (Combined Print Image) needs Image Overlay Boxes, which filmd does not support.
pub(crate) fn film_fit_status(
    film: &Film,
    device: &Device,
    check: impl Fn(u32) -> bool,
) -> Result<(u16, String), Refusal> {
    let bounds = image_box_bounds(film, device);
    let mut worst = (status::SUCCESS, String::new());
    for image_box in film.image_boxes.iter().filter(|b| check(b.position)) {
        let (Some(image), Some(b)) = (
            &image_box.image,
            bounds.get(image_box.position as usize - 1),
        ) else {
            continue;
        };
        let magnification = image_box.magnification.unwrap_or(film.magnification);
        let size = (b.2 - b.0, b.3 - b.1);
        let placed =
            placement_in_box(image, image_box, magnification, size, device.dpi).map_err(|e| {
                Refusal::new(
                    status::IMAGE_LARGER_THAN_BOX,
                    format!("image box {}: {e}", image_box.position),
                )
            })?;
        let (code, what) = match placed.fit {
            Fit::Whole => continue,
            Fit::Demagnified => (status::IMAGE_DEMAGNIFIED, "demagnified"),
            Fit::Decimated => (status::IMAGE_DECIMATED, "decimated"),
            Fit::Cropped => (status::IMAGE_CROPPED, "cropped"),
        };
        if fit_rank(code) > fit_rank(worst.0) {
            let (_, _, w, h) = placed.source;
            worst = (
                code,
                format!(
                    "image box {}: the image ({} x {} pixels) is larger than its box ({} x {} device pixels) and was {what}{}",
                    image_box.position,
                    image.columns,
                    image.rows,
                    size.0,
                    size.1,
                    if placed.fit == Fit::Cropped {
                        format!(" to its central {w} x {h} pixels")
                    } else {
                        String::new()
                    }
                ),
            );
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    fn item(
        samples: u16,
        photometric: &str,
        rows: u16,
        cols: u16,
        bits: (u16, u16, u16),
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
            DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(bits.0)),
            DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(bits.1)),
            DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(bits.2)),
            DataElement::new(
                tags::PIXEL_REPRESENTATION,
                VR::US,
                PrimitiveValue::from(0u16),
            ),
            DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(data)),
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

    #[test]
    fn twelve_bit_values_are_masked_to_bits_stored() {
        let img = parse_image(
            &item(
                1,
                "MONOCHROME2",
                1,
                2,
                (16, 12, 11),
                vec![0xFF, 0xFF, 0x34, 0x02],
                None,
            ),
            false,
        )
        .unwrap();
        assert_eq!(img.bits_stored, 12);
        assert_eq!(img.pixels.as_slice(), &[0xFF, 0x0F, 0x34, 0x02]);
    }

    #[test]
    fn planar_rgb_becomes_interleaved() {
        let img = parse_image(
            &item(3, "RGB", 1, 2, (8, 8, 7), vec![1, 2, 3, 4, 5, 6], Some(1)),
            true,
        )
        .unwrap();
        assert_eq!(img.pixels.as_slice(), &[1, 3, 5, 2, 4, 6]);
        let img = parse_image(
            &item(3, "RGB", 1, 2, (8, 8, 7), vec![1, 2, 3, 4, 5, 6], Some(0)),
            true,
        )
        .unwrap();
        assert_eq!(img.pixels.as_slice(), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn invalid_images_name_the_offending_attribute() {
        let cases = [
            (
                item(1, "MONOCHROME2", 2, 2, (8, 8, 7), vec![0; 2], None),
                false,
                tags::PIXEL_DATA,
            ),
            (
                item(1, "MONOCHROME2", 2, 2, (8, 8, 7), vec![0; 6], None),
                false,
                tags::PIXEL_DATA,
            ),
            (
                item(1, "MONOCHROME2", 65535, 65535, (8, 8, 7), vec![0; 16], None),
                false,
                tags::ROWS,
            ),
            (
                item(1, "MONOCHROME2", 2, 2, (16, 10, 9), vec![0; 8], None),
                false,
                tags::BITS_STORED,
            ),
            (
                item(1, "PALETTE COLOR", 2, 2, (8, 8, 7), vec![0; 4], None),
                false,
                tags::PHOTOMETRIC_INTERPRETATION,
            ),
            (
                item(3, "RGB", 2, 2, (8, 8, 7), vec![0; 12], None),
                false,
                tags::PHOTOMETRIC_INTERPRETATION,
            ),
            (
                item(1, "RGB", 2, 2, (8, 8, 7), vec![0; 4], None),
                true,
                tags::SAMPLES_PER_PIXEL,
            ),
            (
                item(3, "RGB", 2, 2, (16, 12, 11), vec![0; 24], None),
                true,
                tags::BITS_STORED,
            ),
        ];
        for (i, (obj, color, tag)) in cases.into_iter().enumerate() {
            let r = parse_image(&obj, color).unwrap_err();
            assert_eq!(r.status, status::INVALID_ATTRIBUTE_VALUE, "case {i}");
            assert_eq!(r.offending, Some(tag), "case {i}: {}", r.comment);
        }
    }
}
