//! Stored values to a print-ready [`crate::film::Image`] (PS3.4 N.2): pure, one frame at a
//! time. Monochrome: Modality LUT (PS3.3 C.11.1) → VOI (C.11.2: a window with its VOI
//! LUT Function, or a VOI LUT) → 12-bit P-values. Colour: layout (Planar Configuration,
//! YBR_FULL_422) → RGB (C.7.6.3.1.2, C.7.6.3.1.5) → 8 bits a sample.
//!
//! Two choices the standard leaves to the application:
//! - An image that is print-ready already (unsigned, Bits Stored 8 or 12, no Modality
//!   LUT, no window) passes through unchanged, so `filmd render` makes what it made
//!   before this pipeline existed; any other monochrome image comes out 12-bit.
//! - MONOCHROME1 stays MONOCHROME1: the VOI output is not inverted here; composition
//!   inverts it as PS3.4 N.2 does for MONOCHROME1 (an INVERSE presentation), so the
//!   lowest value prints brightest, and a print-ready MONOCHROME1 image prints as before.

use super::color::{expand_ybr_422, interleave, palette_rgb, sample_to_8, ybr_full_to_rgb};
use super::lut::rescale_bits;
use super::voi::{self, P_BITS, P_MAX};
use super::{
    ImageAttributes, ImageOptions, Lut, ModalityError, StoredFrame, StoredPhotometric, VoiFunction,
    Window,
};
use crate::film::{Image, Photometric, Pixels};
use std::borrow::Cow;

use super::attributes::MAX_FRAME_SAMPLES;

/// Largest value of either side of the Pixel Aspect Ratio an image box takes (the
/// limit `parse_image` applies to image boxes).
const MAX_ASPECT_TERM: u32 = 1000;

/// PS3.4 N.2 for one frame: Modality LUT, VOI LUT, colour conversion, to a print-ready
/// image. `frame` says how its values are laid out and in which colour space (a decoder
/// may have changed both); `attrs` gives the rest.
pub fn to_print_ready(
    attrs: &ImageAttributes,
    frame: &StoredFrame,
    options: &ImageOptions,
) -> Result<Image, ModalityError> {
    let pixels = check_frame(attrs, frame)?;
    let pixel_aspect_ratio = pixel_aspect_ratio(attrs)?;
    let (photometric, bits_stored, bytes) = match frame.photometric {
        StoredPhotometric::Monochrome1 | StoredPhotometric::Monochrome2 => {
            monochrome(attrs, &frame.values, options)?
        }
        StoredPhotometric::PaletteColor => (Photometric::Rgb, 8, palette(attrs, &frame.values)?),
        StoredPhotometric::Rgb | StoredPhotometric::YbrFull | StoredPhotometric::YbrFull422 => {
            (Photometric::Rgb, 8, colour(attrs, frame, pixels))
        }
    };
    let photometric = match (photometric, frame.photometric) {
        (Photometric::Monochrome2, StoredPhotometric::Monochrome1) => Photometric::Monochrome1,
        (p, _) => p,
    };
    Ok(Image {
        rows: attrs.rows,
        columns: attrs.columns,
        photometric,
        bits_stored,
        pixel_aspect_ratio,
        pixels: Pixels::new(bytes),
    })
}

/// Checks the Image Pixel attributes and the frame's length against each other before
/// any value is indexed (PS3.3 C.7.6.3.1); returns the number of pixels.
fn check_frame(attrs: &ImageAttributes, frame: &StoredFrame) -> Result<usize, ModalityError> {
    let invalid = |m: String| Err(ModalityError::Invalid(m));
    if attrs.rows == 0 {
        return invalid("Rows is 0".into());
    }
    if attrs.columns == 0 {
        return invalid("Columns is 0".into());
    }
    let samples = match frame.photometric {
        StoredPhotometric::Monochrome1
        | StoredPhotometric::Monochrome2
        | StoredPhotometric::PaletteColor => 1u16,
        _ => 3,
    };
    if attrs.samples_per_pixel != samples {
        return invalid(format!(
            "Samples per Pixel {} does not fit Photometric Interpretation {:?} (needs {samples})",
            attrs.samples_per_pixel, frame.photometric
        ));
    }
    let total = u64::from(attrs.rows) * u64::from(attrs.columns) * u64::from(samples);
    if total > MAX_FRAME_SAMPLES {
        return invalid(format!(
            "Rows × Columns × Samples per Pixel {}×{}×{samples} is above {MAX_FRAME_SAMPLES}",
            attrs.rows, attrs.columns
        ));
    }
    let (allocated, stored, high_bit) = (attrs.bits_allocated, attrs.bits_stored, attrs.high_bit);
    if allocated == 0 || allocated > 32 {
        return invalid(format!("Bits Allocated {allocated}: use 1 to 32"));
    }
    if stored == 0 || stored > allocated {
        return invalid(format!(
            "Bits Stored {stored}: must be 1 to Bits Allocated ({allocated})"
        ));
    }
    // PS3.5 8.1.1: High Bit may lie above Bits Stored − 1 (e.g. 16/12/15); decode
    // has already moved the stored bits down to bit 0, so only their room is checked.
    if high_bit >= allocated || high_bit + 1 < stored {
        return invalid(format!(
            "High Bit {high_bit}: must be Bits Stored - 1 ({}) to Bits Allocated - 1 ({})",
            stored - 1,
            allocated - 1
        ));
    }
    if samples == 3 && frame.planar_configuration > 1 {
        return invalid(format!(
            "Planar Configuration {}: use 0 or 1",
            frame.planar_configuration
        ));
    }
    let pixels = (u64::from(attrs.rows) * u64::from(attrs.columns)) as usize;
    let expected = if frame.photometric == StoredPhotometric::YbrFull422 {
        if attrs.columns % 2 == 1 {
            return invalid(format!(
                "Columns {}: YBR_FULL_422 needs an even number of columns",
                attrs.columns
            ));
        }
        if frame.planar_configuration != 0 {
            return invalid("Planar Configuration 1 with YBR_FULL_422: use 0".into());
        }
        pixels * 2
    } else {
        pixels * usize::from(samples)
    };
    if frame.values.len() != expected {
        return invalid(format!(
            "Pixel Data: the frame has {} values; {}×{} {:?} needs {expected}",
            frame.values.len(),
            attrs.rows,
            attrs.columns,
            frame.photometric
        ));
    }
    Ok(pixels)
}

/// The VOI step chosen for a monochrome image (PS3.4 N.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Voi<'a> {
    Window(Window, VoiFunction),
    Table(&'a Lut),
    /// The image has none: pass through when print-ready, else its min/max.
    None,
}

/// `--window` if given, else the file's window number `--voi` (from 1), else its VOI
/// LUT of that number when it has no window, else none.
fn choose_voi<'a>(
    attrs: &'a ImageAttributes,
    options: &ImageOptions,
) -> Result<Voi<'a>, ModalityError> {
    if let Some(window) = options.window {
        voi::check_window(attrs.voi_function, window)
            .map_err(|m| ModalityError::Options(format!("--window: {m}")))?;
        return Ok(Voi::Window(window, attrs.voi_function));
    }
    let index = options.voi_index.unwrap_or(1);
    if index == 0 {
        return Err(ModalityError::Options(
            "--voi 0: windows and VOI LUTs are numbered from 1".into(),
        ));
    }
    let out_of_range = |count: usize, what: &str| {
        ModalityError::Options(format!(
            "--voi {index}: the image has {count} {what} (choose 1 to {count})"
        ))
    };
    if !attrs.windows.is_empty() {
        let (window, _) = attrs
            .windows
            .get(index - 1)
            .ok_or_else(|| out_of_range(attrs.windows.len(), "windows"))?;
        voi::check_file_window(attrs.voi_function, *window)?;
        return Ok(Voi::Window(*window, attrs.voi_function));
    }
    if !attrs.voi_luts.is_empty() {
        let lut = attrs
            .voi_luts
            .get(index - 1)
            .ok_or_else(|| out_of_range(attrs.voi_luts.len(), "VOI LUTs"))?;
        lut.validate("VOI LUT Sequence")?;
        return Ok(Voi::Table(lut));
    }
    if index > 1 {
        return Err(ModalityError::Options(format!(
            "--voi {index}: the image has no window and no VOI LUT"
        )));
    }
    Ok(Voi::None)
}

/// Monochrome stored values → (photometric, bits, print-ready bytes).
fn monochrome(
    attrs: &ImageAttributes,
    values: &[i32],
    options: &ImageOptions,
) -> Result<(Photometric, u8, Vec<u8>), ModalityError> {
    attrs.modality_lut.validate()?;
    let voi = choose_voi(attrs, options)?;
    let print_ready =
        !attrs.signed && matches!(attrs.bits_stored, 8 | 12) && attrs.modality_lut.is_identity();
    if voi == Voi::None && print_ready {
        return Ok((
            Photometric::Monochrome2,
            attrs.bits_stored as u8,
            pass_through(values, attrs.bits_stored),
        ));
    }
    let modality = &attrs.modality_lut;
    let bytes = match voi {
        Voi::Window(window, function) => map_stored(values, |x| {
            voi::p_value(function, window, modality.apply(x))
        }),
        Voi::Table(lut) => {
            let bits = u32::from(lut.bits);
            map_stored(values, |x| {
                let entry = lut.lookup(modality.apply(x));
                rescale_bits(u32::from(entry), bits, u32::from(P_BITS)) as u16
            })
        }
        Voi::None => {
            let (min, max) = values
                .iter()
                .map(|&x| modality.apply(x))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
                    (lo.min(y), hi.max(y))
                });
            match voi::min_max_window(min, max) {
                Some(window) => map_stored(values, |x| {
                    voi::p_value(VoiFunction::LinearExact, window, modality.apply(x))
                }),
                None => vec![0; values.len() * 2],
            }
        }
    };
    Ok((Photometric::Monochrome2, P_BITS, bytes))
}

/// A print-ready image's values as image box bytes: one a sample at 8 bits, a
/// little-endian u16 at 12 (clamped to Bits Stored, as the decoder already did).
fn pass_through(values: &[i32], bits_stored: u16) -> Vec<u8> {
    if bits_stored == 8 {
        values.iter().map(|&v| v.clamp(0, 255) as u8).collect()
    } else {
        values
            .iter()
            .flat_map(|&v| (v.clamp(0, i32::from(P_MAX)) as u16).to_le_bytes())
            .collect()
    }
}

/// Applies `f` (a stored value to a P-value) to every stored value and returns the
/// P-values as little-endian u16 bytes, going through a table over the frame's stored
/// range when that range is smaller than the frame (the usual case: 16-bit values, a
/// larger frame), so a SIGMOID costs one `exp` per distinct value rather than per pixel.
fn map_stored(values: &[i32], f: impl Fn(i32) -> u16) -> Vec<u8> {
    let Some((&min, &max)) = values.iter().min().zip(values.iter().max()) else {
        return Vec::new();
    };
    let range = (i64::from(max) - i64::from(min) + 1) as u64;
    if range <= 1 << 20 && range < values.len() as u64 {
        let table: Vec<u16> = (min..=max).map(&f).collect();
        values
            .iter()
            .flat_map(|&x| table[(i64::from(x) - i64::from(min)) as usize].to_le_bytes())
            .collect()
    } else {
        values.iter().flat_map(|&x| f(x).to_le_bytes()).collect()
    }
}

/// RGB, YBR_FULL or YBR_FULL_422 values → 8-bit interleaved RGB bytes.
fn colour(attrs: &ImageAttributes, frame: &StoredFrame, pixels: usize) -> Vec<u8> {
    let bits = u32::from(attrs.bits_stored);
    let interleaved = match (frame.photometric, frame.planar_configuration) {
        (StoredPhotometric::YbrFull422, _) => Cow::Owned(expand_ybr_422(&frame.values)),
        (_, 1) => Cow::Owned(interleave(&frame.values, pixels)),
        _ => Cow::Borrowed(frame.values.as_slice()),
    };
    if frame.photometric == StoredPhotometric::Rgb {
        return interleaved.iter().map(|&v| sample_to_8(v, bits)).collect();
    }
    interleaved
        .chunks_exact(3)
        .flat_map(|ybr| ybr_full_to_rgb(ybr[0], ybr[1], ybr[2], bits).map(|v| sample_to_8(v, bits)))
        .collect()
}

/// PALETTE COLOR stored values → 8-bit interleaved RGB bytes through the palette.
fn palette(attrs: &ImageAttributes, values: &[i32]) -> Result<Vec<u8>, ModalityError> {
    let palette = attrs.palette.as_ref().ok_or_else(|| {
        ModalityError::Invalid(
            "PALETTE COLOR without Red, Green and Blue Palette Color Lookup Tables".into(),
        )
    })?;
    palette.red.validate("Red Palette Color Lookup Table")?;
    palette.green.validate("Green Palette Color Lookup Table")?;
    palette.blue.validate("Blue Palette Color Lookup Table")?;
    Ok(values
        .iter()
        .flat_map(|&v| palette_rgb(palette, v))
        .collect())
}

/// The image box's Pixel Aspect Ratio (vertical, horizontal): the file's Pixel Aspect
/// Ratio, else the ratio of its Pixel Spacing (row spacing / column spacing) as small
/// integers, else (1, 1) (PS3.3 C.7.6.3.1.7).
fn pixel_aspect_ratio(attrs: &ImageAttributes) -> Result<(u32, u32), ModalityError> {
    if let Some((vertical, horizontal)) = attrs.pixel_aspect_ratio {
        if vertical == 0 || horizontal == 0 {
            return Err(ModalityError::Invalid(format!(
                "Pixel Aspect Ratio {vertical}\\{horizontal}: both values must be above 0"
            )));
        }
        if vertical <= MAX_ASPECT_TERM && horizontal <= MAX_ASPECT_TERM {
            return Ok((vertical, horizontal));
        }
        return Ok(small_ratio(f64::from(vertical) / f64::from(horizontal)));
    }
    match attrs.pixel_spacing {
        Some((row, column))
            if row.is_finite() && column.is_finite() && row > 0.0 && column > 0.0 =>
        {
            Ok(small_ratio(row / column))
        }
        _ => Ok((1, 1)),
    }
}

/// `ratio` as (vertical, horizontal) integers of at most 1000: the smallest horizontal
/// term within 0.1 % of it (spacings such as 0.390625 and 0.3906 are square pixels),
/// else the closest.
pub fn small_ratio(ratio: f64) -> (u32, u32) {
    if !ratio.is_finite() || ratio <= 0.0 {
        return (1, 1);
    }
    let mut best = (1, 1);
    let mut best_error = f64::INFINITY;
    for horizontal in 1..=MAX_ASPECT_TERM {
        let vertical = (ratio * f64::from(horizontal))
            .round()
            .clamp(1.0, f64::from(MAX_ASPECT_TERM)) as u32;
        let error = (f64::from(vertical) / f64::from(horizontal) - ratio).abs() / ratio;
        if error <= 1e-3 {
            return (vertical, horizontal);
        }
        if error < best_error {
            best = (vertical, horizontal);
            best_error = error;
        }
    }
    best
}

#[cfg(test)]
#[path = "tests/pipeline.rs"]
mod tests;
